/**
 * The paper's reported numbers (Sheng et al., BarlowTwins-CXR), shown beside ours. Means with their
 * 95 % confidence intervals as printed in Tables 1–3.
 */

export interface Reported {
  mean: number;
  low: number;
  high: number;
}

const r = (mean: number, low: number, high: number): Reported => ({ mean, low, high });

/** Table 1: mAP50 on VinDr-CXR (validation, test) by backbone and input size. */
export const PAPER_TABLE1: {
  backbone: 'none' | 'imagenet' | 'bt' | 'bt_imagenet';
  inputSize: 224 | 640;
  val: Reported;
  test: Reported;
}[] = [
  { backbone: 'none', inputSize: 224, val: r(0.1388, 0.1352, 0.1424), test: r(0.1342, 0.1306, 0.1378) },
  { backbone: 'imagenet', inputSize: 224, val: r(0.2245, 0.2204, 0.2286), test: r(0.221, 0.2194, 0.2226) },
  { backbone: 'bt', inputSize: 224, val: r(0.2555, 0.2485, 0.2626), test: r(0.2448, 0.2414, 0.2482) },
  {
    backbone: 'bt_imagenet',
    inputSize: 224,
    val: r(0.2625, 0.2568, 0.2682),
    test: r(0.2502, 0.2476, 0.2528),
  },
  { backbone: 'imagenet', inputSize: 640, val: r(0.2973, 0.2913, 0.3033), test: r(0.28, 0.2757, 0.2848) },
  { backbone: 'bt_imagenet', inputSize: 640, val: r(0.3102, 0.308, 0.3125), test: r(0.289, 0.2826, 0.2954) },
];

/**
 * Tables 2 (frozen backbone, linear probe) and 3 (end-to-end): macro AUC on the NIH evaluation test
 * part at 1 %, 10 %, 100 % of the training part. The paper's "Barlowtwin-CXR" is Barlow Twins
 * started from ImageNet weights (`bt_imagenet`).
 */
export const PAPER_LINEAR_EVAL: Record<
  'frozen' | 'endToEnd',
  Partial<Record<'imagenet' | 'bt_imagenet', Record<string, Reported>>>
> = {
  frozen: {
    bt_imagenet: {
      '0.01': r(0.6586, 0.6556, 0.6616),
      '0.1': r(0.7773, 0.7756, 0.779),
      '1': r(0.8031, 0.8027, 0.8035),
    },
    imagenet: {
      '0.01': r(0.5932, 0.5913, 0.5951),
      '0.1': r(0.6855, 0.6822, 0.6889),
      '1': r(0.7098, 0.7089, 0.7107),
    },
  },
  endToEnd: {
    bt_imagenet: {
      '0.01': r(0.6585, 0.6544, 0.6627),
      '0.1': r(0.7756, 0.7745, 0.7768),
      '1': r(0.8107, 0.8098, 0.8116),
    },
    imagenet: {
      '0.01': r(0.6163, 0.611, 0.6216),
      '0.1': r(0.7168, 0.7093, 0.7243),
      '1': r(0.7866, 0.7843, 0.7889),
    },
  },
};
