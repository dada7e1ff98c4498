/**
 * Profiles: one code path, three sizes (docs/ARCHITECTURE.md, "Profiles"). This is the only module that reads
 * the environment; everything else receives a `Config`.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Interpolation } from './data/augment.js';

export type ProfileName = 'smoke' | 'demo' | 'paper';
export const PROFILE_NAMES: readonly ProfileName[] = ['smoke', 'demo', 'paper'];

/** Which TensorFlow.js backend to use; `auto` picks the fastest that loads (see engine.ts). */
export type BackendRequest = 'auto' | 'tensorflow' | 'cxr-cpu' | 'cpu';
export const BACKEND_REQUESTS: readonly BackendRequest[] = ['auto', 'tensorflow', 'cxr-cpu', 'cpu'];

export interface DataConfig {
  /**
   * Of the NIH set: `synthetic`, the embedded phantom, generated into `paths.data` on first use;
   * `real`, the user's files (CXR_NIH_DIR or the paper profile).
   */
  source: 'synthetic' | 'real';
  /** The same for VinDr: setting only CXR_NIH_DIR leaves VinDr on the phantom. */
  vindrSource: 'synthetic' | 'real';
  /** NIH ChestX-ray14 root (holds Data_Entry_2017.csv and images/). */
  nihDir: string;
  /** VinDr-CXR root (holds train.csv and train/). */
  vindrDir: string;
  /**
   * The user's ImageNet ResNet weights (torchvision/timm `.safetensors` or Keras `.h5`), the `imagenet`
   * initialisation; '' means the ImageNet-proxy of smoke/demo. Required by `paper`.
   */
  imagenetWeights: string;
  /**
   * The weights Barlow Twins from ImageNet (`bt_imagenet`) starts from, when they differ from
   * `imagenetWeights` (CXR_IMAGENET_WEIGHTS_BT; same formats): the authors started Barlow Twins from
   * torchvision's `IMAGENET1K_V2` and used `IMAGENET1K_V1` for the ImageNet baseline. '' = the same file.
   */
  imagenetWeightsBt: string;
  /** Phantom size: NIH-format images to generate. */
  nihImages: number;
  /** Phantom size: VinDr-format images to generate. */
  vindrImages: number;
  /** Side of the square phantom PNGs written to disk (NIH format), pixels. */
  imageSize: number;
  /** Height of the phantom's VinDr-format DICOM images, pixels (widths vary, 82–100 % of it). */
  vindrImageSize: number;
  /**
   * A split whose float32 pixels at the training size exceed this many bytes is decoded once into the
   * on-disk image cache (`paths.cache`) and streamed batch by batch (detection and the linear evaluation;
   * pretraining uses the same 2 GiB default): memory then holds a few batches, not the split. 0 streams
   * everything.
   */
  inMemoryBytes: number;
}

export interface BackboneConfig {
  /** Bottleneck blocks per stage; ResNet-50 is [3, 4, 6, 3]. */
  blocks: [number, number, number, number];
  /** Channels of the stem; ResNet-50 is 64 (stage widths are 1, 2, 4, 8 times this, ×4 out). */
  width: number;
  /** Square input side for pretraining and classification, pixels. */
  inputSize: number;
  /**
   * Where a downsampling bottleneck strides: `v1.5` (torchvision's ResNet-50, the authors'; the 3×3 conv)
   * or `v1` (the original and Keras's ResNet50; the first 1×1 conv). Set to `v1` automatically when the
   * ImageNet file is Keras HDF5, so that all four initialisations share its architecture. Absent: `v1.5`.
   */
  variant?: 'v1.5' | 'v1';
}

/**
 * Barlow Twins pretraining (notebook 03). `paper` uses the defaults of facebookresearch/barlowtwins
 * main.py (the paper names only batch 768, 600 epochs and 224 px; the rest is main.py's, which the
 * authors' code runs unchanged).
 */
export interface PretrainConfig {
  /** Projector layer widths after the backbone's pooled features; main.py's default is 8192-8192-8192. */
  projector: number[];
  /** Weight of the off-diagonal (redundancy-reduction) term; main.py's default 0.0051 (chosen for d = 8192). */
  lambda: number;
  batchSize: number;
  epochs: number;
  /** Base learning rate multipliers of main.py: weights 0.2, biases and BatchNorm 0.0048 (× batch/256). */
  lrWeights: number;
  lrBiases: number;
  weightDecay: number;
  /** Warm-up length in epochs (main.py: 10); shortened runs scale it down. */
  warmupEpochs: number;
  /** Steps per epoch cap (0 = whole data set); smoke/demo keep runs short. */
  maxStepsPerEpoch: number;
  /** RandomResizedCrop's area range for both views (main.py: torchvision's default 0.08–1). */
  cropScale: [number, number];
  /** Brightness and contrast jitter strength (main.py: 0.4). */
  jitter: number;
  /**
   * How both views' random crops are resampled: `pil-bicubic` is main.py's (torchvision's
   * RandomResizedCrop with `Image.BICUBIC` on PIL images: Pillow's cubic, a = −0.5, antialiased when
   * shrinking); `bilinear` is tfjs's point-sampled cropAndResize.
   */
  interpolation: Interpolation;
  /**
   * Which NIH images Barlow Twins sees: `train_val` (the official training list; leak-free, the
   * default) or `all` (all images, test list included, as the authors' training log shows: 112,120
   * images, 145 steps of 768 per epoch). Notebook 05 evaluates on the test list, so `all` lets the
   * pretraining see the evaluation images (without labels).
   */
  imageSet: 'train_val' | 'all';
  /**
   * The backbone notebooks 04–06 receive: `last` (the weights after the final step, as main.py saves
   * `resnet50.pth`) or `lowest-loss` (the epoch with the lowest mean loss).
   */
  transfer: 'last' | 'lowest-loss';
  /** Barlow Twins from scratch starts with each residual block's last BatchNorm γ at 0 (main.py: `resnet50(zero_init_residual=True)`). */
  zeroInitResidual: boolean;
  /**
   * A cheap quality signal during pretraining: at the end of every epoch, the k-nearest-neighbour
   * accuracy (normal vs abnormal) of the backbone's pooled features, test-list images classified by
   * their `knn` nearest training images (cosine); 0 = off.
   */
  knn: number;
  /** Print a progress line every this many seconds. */
  logEverySeconds: number;
  /**
   * Images in the fixed probe batch whose cross-correlation C is pictured before, during and after
   * pretraining (at most the set's size). Large, because with n images an uncorrelated pair still shows
   * |C_ij| ≈ 0.8/√n; its activations are held at once (no tape), so the dry run keeps it small.
   */
  probeImages: number;
  /**
   * Images per backbone pass of each view, 0 = the whole batch. Smaller values bound activation memory
   * while the loss stays exact over the whole batch (`models/microBatchBt.ts`); the backbone's BatchNorm
   * then sees micro-batch statistics, as in non-synchronised multi-GPU training.
   */
  microBatch: number;
  /**
   * Side of the stored images the views are cut from. The authors pretrained from 224 px copies of NIH's
   * 1024 px films; smoke and demo use their phantom's size. Larger than memory, they stream from a disk cache.
   */
  sourceSize: number;
}

/** The "ImageNet" stand-in of smoke/demo: supervised pretraining on procedural natural images (a proxy). */
export interface ProxyPretrainConfig {
  classes: number;
  images: number;
  epochs: number;
  batchSize: number;
  /** Peak learning rate of SGD (momentum 0.9). */
  lr: number;
  /** `cosine`: linear warm-up over `warmupSteps` from 0, then cosine decay to 0 at the last step. */
  schedule: 'constant' | 'cosine';
  warmupSteps: number;
  /** L2 weight decay added to the gradient, as torch.optim.SGD's `weight_decay` (0 = none). */
  weightDecay: number;
}

/**
 * The linear-evaluation protocol on the NIH test list (notebook 05). Its control row, no pretraining with
 * BatchNorm re-estimated (`none_bn`), takes its statistics from the images of `pretrain.imageSet` at
 * `backbone.inputSize`: the images the Barlow Twins backbones pretrain on, at the size the evaluation sees.
 */
export interface LinearEvalConfig {
  /** Share of the official test list used to train the classifier (the rest is the evaluation test part). */
  trainShare: number;
  /** Share of that training part held out for choosing the epoch (model selection). */
  valShare: number;
  /** Label fractions of the training part (the paper: 1%, 10%, 100%). */
  fractions: number[];
  /** Smallest training subset, images (1% of a small phantom would be a handful). */
  minImages: number;
  /**
   * Linear probe on frozen features. `augment`: the authors' RandomResizedCrop + flip of the training
   * images, features recomputed every epoch (false: features of the plain images, computed once).
   */
  probe: { epochs: number; batchSize: number; lr: number; weightDecay: number; augment: boolean };
  /**
   * How the training crops of both modes are resampled: `pil-bilinear` is evaluate.py's
   * (`RandomResizedCrop(224)`, torchvision's default bilinear on a PIL image: antialiased when
   * shrinking); `bilinear` is tfjs's point-sampled cropAndResize.
   */
  interpolation: Interpolation;
  /**
   * End-to-end fine-tuning; `backboneLrScale` multiplies `lr` for the backbone (the authors' evaluate.py
   * defaults to --lr-backbone 0: backbone weights fixed, only its BatchNorm statistics adapting in train
   * mode; 0 here reproduces that). `augment`: RandomResizedCrop + flip (false: flips only).
   */
  endToEnd: {
    epochs: number;
    batchSize: number;
    lr: number;
    backboneLrScale: number;
    weightDecay: number;
    augment: boolean;
  };
  /**
   * Modes that also train the authors' protocol: classifiers on the WHOLE training part (no validation
   * carve-out) at the same fractions, reported at their best test epoch, as evaluate.py does. Other
   * modes show no authors'-protocol number.
   */
  authorsProtocol: ('frozen' | 'endToEnd')[];
}

/** Faster R-CNN + FPN fine-tuning on the fused VinDr boxes (notebook 04). */
export interface DetectionConfig {
  /** Square input sides (the paper: 224 and 640; images are resized to them). */
  inputSizes: number[];
  /**
   * Backbones trained at the input sizes after the first: the paper ran only ImageNet and Barlow
   * Twins from ImageNet at 640 px.
   */
  laterSizeInits: ('none' | 'imagenet' | 'bt' | 'bt_imagenet')[];
  /**
   * Seeds run at each input size (the first n of `seeds`, index as `inputSizes`); missing or empty:
   * every seed. The paper ran four seeds at 224 px and five at 640 px (Fig. 4's caption).
   */
  seedsPerSize: number[];
  epochs: number;
  batchSize: number;
  /** SGD momentum 0.9, linear warm-up then cosine (the authors: 0.005 at batch 32). */
  lr: number;
  warmupSteps: number;
  /**
   * The cosine schedule ends here, not at 0 (the authors' `lr_config`: `min_lr=0.0001` at lr 0.005,
   * a fiftieth; smoke and demo keep that fraction of their own lr).
   */
  minLr: number;
  weightDecay: number;
  /**
   * Train only on images with at least one fused box, as MMDetection's CocoDataset does by default
   * (`filter_empty_gt`); validation and test keep every image, normal ones included.
   */
  filterEmptyGt: boolean;
  /** Clip the loss gradients to this global L2 norm (0: no clipping; MMDetection configs often use 35). */
  gradClipNorm: number;
  /**
   * RPN anchor side = FPN stride × scale, at strides 4–64 (MMDetection: scale 8, anchors 32–512 px).
   * Anchors are in input pixels, so a small input needs a smaller scale: a ground-truth box whose
   * best anchor IoU is below 0.3 gets no positive anchor at all and is never proposed.
   */
  anchorScales: number[];
  /** FPN and box-head widths (MMDetection: 256 and 1024); smaller in smoke/demo. */
  fpnChannels: number;
  boxFcWidth: number;
  /** Proposals kept per image before/after NMS in training and at test (MMDetection: 2000/1000, 1000/1000). */
  rpnPreNmsTopNTrain: number;
  rpnPostNmsTopNTrain: number;
  rpnPreNmsTopNTest: number;
  rpnPostNmsTopNTest: number;
  /** RoIs sampled per image for the box head (512). */
  boxBatchSizePerImage: number;
  /** MMDetection's ResNet settings: BatchNorm in eval mode, the stem and stage 1 frozen. */
  normEval: boolean;
  frozenStages: number;
  /** Bootstrap resamples of the test images for the per-run confidence interval. */
  bootstrap: number;
  /**
   * Also score every validation image (normal ones too) after each epoch, beside the authors' set of
   * images with boxes that picks the best epoch. `false` skips the normal images (about 70 % of the
   * split) per epoch; test is scored on both sets either way.
   */
  validateAllImages: boolean;
}

export interface PlotConfig {
  /** Default figure size in CSS pixels (also the PNG size). */
  width: number;
  height: number;
  /** Write PNGs with headless Chromium when a browser is found. */
  png: boolean;
  /** Browser executable; empty = search PATH (and macOS's apps) for Chromium or Chrome; `none` = no PNGs. */
  chromium: string;
}

/** Weighted Boxes Fusion of the VinDr readers' boxes and the re-split (notebook 02). */
export interface WbfConfig {
  /** A box joins a cluster when its IoU with the cluster's fused box is > iouThr. */
  iouThr: number;
  /** Boxes scoring below this are ignored (readers' boxes all score 1). */
  skipBoxThr: number;
  confType: 'avg' | 'max' | 'box_and_model_avg' | 'absent_model_aware_avg';
  /** train / validation / test fractions of VinDr's training set. */
  splitFractions: [number, number, number];
}

/**
 * Where Ablation-CAM cuts the detector: ResNet stages (`layer1`..`layer4`, torchvision names) or one
 * FPN output level (`fpn.p2`..`fpn.p5`, strides 4..32). The authors' tool defaults to `layer3`; the
 * paper's text says the final convolutional layer (`layer4`).
 */
export type CamLayer = 'layer1' | 'layer2' | 'layer3' | 'layer4' | 'fpn.p2' | 'fpn.p3' | 'fpn.p4' | 'fpn.p5';
export const CAM_LAYERS: readonly CamLayer[] = [
  'layer1',
  'layer2',
  'layer3',
  'layer4',
  'fpn.p2',
  'fpn.p3',
  'fpn.p4',
  'fpn.p5',
];

/** Ablation-CAM settings (notebook 06, `src/explain/`). */
export interface CamConfig {
  /**
   * The layers whose channels are ablated, each giving its own maps, side by side: `layer4` is the
   * paper's "final convolutional layer", `layer3` the default of the authors' tool (vis_cam.py).
   */
  layers: CamLayer[];
  /** Predicted boxes explained: score at least this (the authors' tool: 0.3) ... */
  scoreThr: number;
  /** ... among the `topK` highest-scoring detections (the tool: 10). */
  topK: number;
  /** Ablated copies of the activations per forward pass (pytorch-grad-cam's default is 32). */
  batchSize: number;
  /** Fraction of the channels ablated, largest activations first; the rest get weight 0. */
  channelFraction: number;
  /** A detection explains a reference box only when their IoU exceeds this (0.5). */
  iouThr: number;
  /** Pointing game: the heat map's peak counts as a hit this many pixels outside a box (Zhang et al. use 15 at ~224 px; scaled with the image). */
  pointingTolerance: number;
  /**
   * Test images scored for the localisation comparison (those with ground-truth boxes, in order). Each
   * correctly predicted box (score ≥ scoreThr, same class as a ground-truth box, IoU > iouThr) gets
   * its own map, scored against that ground-truth box.
   */
  images: number;
}

export interface Paths {
  /** Repository root. */
  root: string;
  /** Where the phantom is generated (per profile). */
  data: string;
  /** Figures: `figures/` for demo and paper, `figures/smoke/` for smoke (git-ignored). */
  figures: string;
  /** Results files with their manifests, per profile. */
  results: string;
  /** Model checkpoints, per profile. */
  checkpoints: string;
  /**
   * Decoded images at the sizes training reads (`data/imageCache.ts`), shared by profiles (keyed by
   * files, size and decoder): what large splits stream from.
   */
  cache: string;
}

export interface Config {
  profile: ProfileName;
  /**
   * A rehearsal of the profile (`npm run reproduce -- --profile paper --dry-run`, or CXR_DRY_RUN=1): the
   * profile's models and code path on a phantom written at the profile's data sizes and formats, a few
   * images, every training stopped after a step or two, every split streamed from the image cache, a
   * seeded random-weight torchvision-format file for the ImageNet weights, one seed; its own folders
   * (`<profile>-dry-run`). Numbers meaningless; shapes, memory and wiring real.
   */
  dryRun: boolean;
  /** The notebook (or script) this config was made for; recorded in every manifest. */
  notebook: string;
  /** Master seed: every generator derives from it (`makeRng(seed).fork(...)`). */
  seed: number;
  /** Seeds for repeated runs (detection and evaluation settings). */
  seeds: number[];
  backend: BackendRequest;
  paths: Paths;
  data: DataConfig;
  backbone: BackboneConfig;
  wbf: WbfConfig;
  pretrain: PretrainConfig;
  proxy: ProxyPretrainConfig;
  linearEval: LinearEvalConfig;
  detection: DetectionConfig;
  cam: CamConfig;
  plots: PlotConfig;
}

/** Deep-partial overrides a notebook may pass in its first cell. */
export type Overrides = {
  [K in keyof Config]?: Config[K] extends unknown[]
    ? Config[K]
    : Config[K] extends object
      ? Partial<Config[K]>
      : Config[K];
};

/** The repository root, found from this module's location (build/src/config.js or src/config.ts). */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'notebooks'))) return dir;
    dir = dirname(dir);
  }
  throw new Error(`config: cannot find the repository root above ${fileURLToPath(import.meta.url)}`);
}

type ProfileSizes = Pick<
  Config,
  'seed' | 'seeds' | 'backbone' | 'pretrain' | 'proxy' | 'linearEval' | 'cam' | 'detection'
> & { data: Pick<DataConfig, 'nihImages' | 'vindrImages' | 'imageSize' | 'vindrImageSize'> };

const PROFILES: Record<ProfileName, ProfileSizes> = {
  // CI: proves the wiring in minutes on 2 cores, not the science.
  smoke: {
    seed: 17,
    seeds: [17],
    data: { nihImages: 200, vindrImages: 60, imageSize: 64, vindrImageSize: 96 },
    backbone: { blocks: [1, 1, 1, 1], width: 8, inputSize: 64 },
    pretrain: {
      projector: [64, 64, 64],
      lambda: 0.0051,
      batchSize: 16,
      epochs: 2,
      lrWeights: 0.2,
      lrBiases: 0.0048,
      weightDecay: 1e-6,
      warmupEpochs: 1,
      maxStepsPerEpoch: 4,
      cropScale: [0.08, 1],
      jitter: 0.4,
      interpolation: 'pil-bicubic',
      imageSet: 'train_val',
      transfer: 'last',
      zeroInitResidual: true,
      knn: 10,
      logEverySeconds: 5,
      // Two micro-batches per view, so that CI runs the paper profile's memory plan.
      microBatch: 8,
      sourceSize: 64,
      probeImages: 256,
    },
    proxy: {
      classes: 10,
      images: 200,
      epochs: 1,
      batchSize: 20,
      lr: 0.05,
      schedule: 'cosine',
      warmupSteps: 1,
      weightDecay: 0,
    },
    linearEval: {
      trainShare: 0.8,
      valShare: 0.15,
      fractions: [0.01, 0.1, 1],
      minImages: 8,
      interpolation: 'pil-bilinear',
      probe: { epochs: 3, batchSize: 16, lr: 0.3, weightDecay: 1e-6, augment: true },
      endToEnd: { epochs: 1, batchSize: 8, lr: 0.05, backboneLrScale: 0.1, weightDecay: 1e-6, augment: true },
      authorsProtocol: ['frozen', 'endToEnd'],
    },
    detection: {
      inputSizes: [96],
      laterSizeInits: ['imagenet', 'bt_imagenet'],
      seedsPerSize: [],
      epochs: 2,
      batchSize: 4,
      lr: 0.01,
      warmupSteps: 5,
      minLr: 0.0002,
      weightDecay: 1e-4,
      gradClipNorm: 0,
      filterEmptyGt: true,
      anchorScales: [8],
      fpnChannels: 32,
      boxFcWidth: 128,
      rpnPreNmsTopNTrain: 300,
      rpnPostNmsTopNTrain: 150,
      rpnPreNmsTopNTest: 300,
      rpnPostNmsTopNTest: 100,
      boxBatchSizePerImage: 64,
      normEval: true,
      frozenStages: 1,
      bootstrap: 50,
      validateAllImages: true,
    },
    cam: {
      layers: ['layer4', 'layer3'],
      scoreThr: 0.3,
      topK: 10,
      batchSize: 16,
      channelFraction: 0.25,
      iouThr: 0.5,
      pointingTolerance: 4,
      images: 2,
    },
  },
  // The default: the comparisons of the paper with seeds and confidence intervals, on a laptop CPU.
  demo: {
    seed: 2024,
    seeds: [2024, 2025, 2026],
    // 900 VinDr-format images (600 before, 400 before that): 185 training, 40 validation and 40 test images with
    // boxes. At the same number of detector steps, 900 images with 16 epochs (752 steps) reached test mAP50 0.161
    // on 40 test images and 600 images with 24 epochs (744 steps) 0.152 on 27 (ImageNet-proxy, one seed;
    // bench/experiments/detRun.ts, REPRODUCTION.md "The demo's detection recipe"): the same cost, larger
    // evaluation sets (less noise per seed, more images for Ablation-CAM).
    data: { nihImages: 2000, vindrImages: 900, imageSize: 128, vindrImageSize: 192 },
    backbone: { blocks: [2, 2, 2, 2], width: 16, inputSize: 64 },
    // 100 LARS steps instead of the paper's 87,000: main.py's base lr (0.2 × batch/256) would move the
    // weights by well under 1 % in that time, so the demo's base lr is 50× larger, with a 20-step warm-up
    // (lrWeights 1 learned less: mean C_ii 0.23 against 0.34 after 100 steps, bench/experiments/bt_recipe.py).
    // Milder views than main.py's (crop scale 0.3–1, jitter 0.2; the paper profile keeps 0.08–1 and 0.4): a crop of
    // 8 % of a 128 px film is a piece of one lung, and in 100 steps the network found fewer view-invariant factors
    // with it. Measured from scratch, 100 steps (REPRODUCTION.md, "Why Barlow Twins barely learns"): PyTorch mean
    // C_ii 0.34 (main.py's views) vs 0.42 (these); ours 0.07 → 0.54, loss 475 → 253 (−47 %), mean |C_ij| 0.06 → 0.26.
    // λ stays 0.0051: the off-diagonal that rises with C_ii is a low-rank embedding (about two factors), which a
    // larger λ would penalise without adding factors.
    pretrain: {
      projector: [512, 512, 512],
      lambda: 0.0051,
      batchSize: 64,
      // 200 steps (20 × 10, warm-up 40): with 100 the from-scratch run ended at mean C_ii 0.43 on ~2 invariant
      // factors; 200 reached 0.59 from scratch and from ImageNet-proxy, losses −52 % / −46 %, for ~75 s more per
      // run on 2 idle cores (bench/experiments/btDemoCheck.ts demo '{"epochs":20,"warmupEpochs":4}', 2026-12-01).
      epochs: 20,
      lrWeights: 10,
      lrBiases: 0.0048,
      weightDecay: 1e-6,
      warmupEpochs: 4,
      maxStepsPerEpoch: 10,
      cropScale: [0.3, 1],
      jitter: 0.2,
      // main.py's filter here too: about 3 % of a demo step's CPU time (bench/demoProfile.ts: 0.075 s vs
      // 0.035 s with tfjs bilinear for both views of 64 images, against 1.4 s for the step).
      interpolation: 'pil-bicubic',
      imageSet: 'train_val',
      transfer: 'last',
      zeroInitResidual: true,
      knn: 20,
      logEverySeconds: 15,
      microBatch: 0,
      sourceSize: 128,
      probeImages: 256,
    },
    // Warm-up then cosine to 0 (as torchvision's classification recipes), not a constant rate: at a constant 0.05 the
    // demo seed's run diverged in its last steps on the bundled AVX GEMMs (held-out 8.5 %, chance 8.3 %) while
    // OpenBLAS's summation order gave 57.5 %; with the schedule 20 runs (3 summation orders × 6–8 seeds) all learned,
    // 48–64 % (REPRODUCTION.md, "The ImageNet-proxy's schedule").
    proxy: {
      classes: 12,
      images: 2000,
      epochs: 3,
      batchSize: 64,
      lr: 0.05,
      schedule: 'cosine',
      warmupSteps: 9,
      weightDecay: 0,
    },
    linearEval: {
      trainShare: 0.8,
      valShare: 0.15,
      fractions: [0.01, 0.1, 1],
      minImages: 16,
      interpolation: 'pil-bilinear',
      // Probe features computed once (30 augmented feature passes would double the notebook's time); the
      // authors' protocol for the cheap frozen probe only (end to end it would double the costliest part).
      probe: { epochs: 30, batchSize: 64, lr: 0.3, weightDecay: 1e-6, augment: false },
      endToEnd: {
        epochs: 3,
        batchSize: 32,
        lr: 0.05,
        backboneLrScale: 0.1,
        weightDecay: 1e-6,
        augment: true,
      },
      authorsProtocol: ['frozen'],
    },
    // Anchors of scale 2 (8–128 px): at 96 px MMDetection's 32–512 px anchors leave 76 % of the fused training
    // boxes without any anchor at IoU >= 0.3, so the RPN never learns them (16 % with scale 2; REPRODUCTION.md).
    // One input size, 96 px: calcification, other lesion and nodule/mass are 3–5 px there and mostly unreachable
    // by any anchor (12–52 % reachable), but 128 px measured no better (calcification and other lesion AP 0 at
    // both sizes, nodule/mass 0.25 at 96 and 0 at 128 px; rare classes in minutes of training) for 1.32× the
    // time. Batch 4 at lr 0.02 (the torchvision yardstick; 0.04 learned more slowly), 16 epochs of the 185
    // training images with boxes (752 steps): on the varied phantom the former 8 epochs (248 steps) ended while the
    // detector was still under-trained (the training images' own mAP50 0.066, validation 0.052; the cosine was at
    // 0.15x lr by epoch 6), and 16 epochs at 600 images still rose at the end; 900 images x 16 epochs flattened
    // (validation best at epoch 12, the last epoch +2 %). 64 sampled RoIs and 300/150 training proposals per image:
    // with 128 RoIs and 500/250 proposals, the box head and the proposals' NMS were 39 % of a profiled step
    // (bench/detectionProfile.ts). One seed: a run now costs about 210 CPU-seconds (one thread, measured; the
    // 8-epoch run cost about half), so 4 backbones x 2 seeds would take notebook 04 to about half an hour; Table 1
    // then has no interval over seeds, the bootstrap over the 40 test images stands in. Validation per epoch
    // scores only the images with boxes (the authors' set, which picks the best epoch): the normal ones were about
    // 2/3 of the validation time; test is scored on both.
    detection: {
      inputSizes: [96],
      laterSizeInits: [],
      seedsPerSize: [1],
      epochs: 16,
      batchSize: 4,
      lr: 0.02,
      warmupSteps: 20,
      minLr: 0.0004,
      weightDecay: 1e-4,
      gradClipNorm: 10,
      filterEmptyGt: true,
      anchorScales: [2],
      fpnChannels: 64,
      boxFcWidth: 256,
      rpnPreNmsTopNTrain: 300,
      rpnPostNmsTopNTrain: 150,
      rpnPreNmsTopNTest: 300,
      rpnPostNmsTopNTest: 100,
      boxBatchSizePerImage: 64,
      normEval: true,
      frozenStages: 1,
      bootstrap: 200,
      validateAllImages: false,
    },
    // 20 test images with boxes at two layers: a quarter of the channels (the authors' 0.5 in `paper`) keeps
    // notebook 06 near 2 minutes when most images have a correct detection.
    cam: {
      layers: ['layer4', 'layer3'],
      scoreThr: 0.3,
      topK: 10,
      batchSize: 64,
      channelFraction: 0.25,
      iouThr: 0.5,
      pointingTolerance: 8,
      images: 20,
    },
  },
  // The real data sets and the paper's ResNet-50 at 224 px; needs a GPU backend.
  paper: {
    seed: 2024,
    seeds: [2024, 2025, 2026, 2027, 2028],
    data: { nihImages: 0, vindrImages: 0, imageSize: 1024, vindrImageSize: 1024 },
    backbone: { blocks: [3, 4, 6, 3], width: 64, inputSize: 224 },
    // BarlowTwins-CXR: batch 768, 600 epochs (the paper); everything else main.py's defaults (its
    // training log: 145 batches per epoch, i.e. all 112,120 images; ours defaults to the training list).
    pretrain: {
      projector: [8192, 8192, 8192],
      lambda: 0.0051,
      batchSize: 768,
      epochs: 600,
      lrWeights: 0.2,
      lrBiases: 0.0048,
      weightDecay: 1e-6,
      warmupEpochs: 10,
      maxStepsPerEpoch: 0,
      cropScale: [0.08, 1],
      jitter: 0.4,
      interpolation: 'pil-bicubic',
      imageSet: 'train_val',
      transfer: 'last',
      zeroInitResidual: true,
      knn: 0,
      logEverySeconds: 30,
      // 768 × 2 views of a ResNet-50 at 224 px keep ~235 GiB of float32 activations on the tape; 128 images
      // per pass keep ~20 GiB, ~23 GiB per step in all (measured per image on cxr-cpu; printed by notebook 03).
      microBatch: 128,
      sourceSize: 224,
      probeImages: 768,
    },
    // Unused in `paper`: real ImageNet weights are imported from a user-supplied file instead.
    proxy: {
      classes: 12,
      images: 3000,
      epochs: 8,
      batchSize: 64,
      lr: 0.05,
      schedule: 'cosine',
      warmupSteps: 18,
      weightDecay: 0,
    },
    // The authors (evaluate.py): 30 epochs, batch 64, classifier lr 0.3 (their logged runs; default 0.5),
    // RandomResizedCrop + flip in both modes. End to end, the backbone learns at 0.01 × lr: the paper fine-tunes
    // the whole network, while evaluate.py's default --lr-backbone 0 would only re-estimate BatchNorm
    // statistics (set backboneLrScale 0 for that).
    linearEval: {
      trainShare: 0.8,
      valShare: 0.1,
      fractions: [0.01, 0.1, 1],
      minImages: 32,
      interpolation: 'pil-bilinear',
      probe: { epochs: 30, batchSize: 64, lr: 0.3, weightDecay: 1e-6, augment: true },
      endToEnd: {
        epochs: 30,
        batchSize: 64,
        lr: 0.3,
        backboneLrScale: 0.01,
        weightDecay: 1e-6,
        augment: true,
      },
      authorsProtocol: ['frozen', 'endToEnd'],
    },
    // The authors (MMDetection faster_rcnn_r50_fpn): lr 0.005 at batch 32, 50 epochs, 224 and 640 px.
    detection: {
      inputSizes: [224, 640],
      laterSizeInits: ['imagenet', 'bt_imagenet'],
      seedsPerSize: [4, 5],
      epochs: 50,
      batchSize: 32,
      lr: 0.005,
      warmupSteps: 500,
      minLr: 0.0001,
      weightDecay: 1e-4,
      gradClipNorm: 0,
      filterEmptyGt: true,
      anchorScales: [8],
      fpnChannels: 256,
      boxFcWidth: 1024,
      rpnPreNmsTopNTrain: 2000,
      rpnPostNmsTopNTrain: 1000,
      rpnPreNmsTopNTest: 1000,
      rpnPostNmsTopNTest: 1000,
      boxBatchSizePerImage: 512,
      normEval: true,
      frozenStages: 1,
      bootstrap: 1000,
      validateAllImages: true,
    },
    // The authors' tool: ratio_channels_to_ablate 0.5, score_thr 0.3, topk 10; the test images with boxes.
    cam: {
      layers: ['layer4', 'layer3'],
      scoreThr: 0.3,
      topK: 10,
      batchSize: 64,
      channelFraction: 0.5,
      iouThr: 0.5,
      pointingTolerance: 15,
      images: 100,
    },
  },
};

export interface MakeConfigOptions extends Overrides {
  notebook: string;
  /** Overrides CXR_PROFILE. */
  profile?: ProfileName;
  /** Overrides CXR_DRY_RUN. */
  dryRun?: boolean;
  /** Environment to read (defaults to process.env); tests pass their own. */
  env?: Record<string, string | undefined>;
}

function parseProfile(value: string | undefined): ProfileName {
  if (value === undefined || value === '') return 'demo';
  if ((PROFILE_NAMES as readonly string[]).includes(value)) return value as ProfileName;
  throw new Error(`CXR_PROFILE=${value} is not a profile; use one of ${PROFILE_NAMES.join(', ')}`);
}

function parseBackend(value: string | undefined): BackendRequest {
  if (value === undefined || value === '') return 'auto';
  if ((BACKEND_REQUESTS as readonly string[]).includes(value)) return value as BackendRequest;
  throw new Error(`CXR_BACKEND=${value} is not a backend; use one of ${BACKEND_REQUESTS.join(', ')}`);
}

function parseDryRun(value: string | undefined): boolean {
  if (value === undefined || value === '' || value === '0') return false;
  if (value === '1') return true;
  throw new Error(`CXR_DRY_RUN=${value}: use 1 (a dry run) or 0`);
}

/** The dry run's stand-in for the ImageNet file, in its checkpoints folder. */
export const DRY_RUN_IMAGENET_FILE = 'imagenet-stand-in_random_torchvision.safetensors';

/**
 * A dry run of `profile`: its models at full size, its phantom at the sizes and formats of the data it
 * stands for (for `paper`: NIH's 1024 px 8-bit PNGs, VinDr DICOMs about 2,100–2,600 px of 12–16 bits),
 * a handful of images, every training one or two steps, one seed.
 */
function dryRunSizes(profile: ProfileName): ProfileSizes {
  const p = PROFILES[profile];
  const paper = profile === 'paper';
  return {
    ...p,
    seeds: [p.seed],
    // 120 NIH images: about 28 on the test list, enough for the linear evaluation's three parts; 30 VinDr
    // images: about 6 training images with boxes, three detection steps of 2.
    data: {
      nihImages: 120,
      vindrImages: 30,
      imageSize: paper ? 1024 : p.data.imageSize,
      vindrImageSize: paper ? 2600 : p.data.vindrImageSize,
    },
    // Two steps of two micro-batches per view; the probe batch small (held without a tape).
    pretrain: {
      ...p.pretrain,
      batchSize: 8,
      microBatch: 4,
      epochs: 1,
      warmupEpochs: 1,
      maxStepsPerEpoch: 2,
      knn: 0,
      probeImages: 8,
      logEverySeconds: 10,
    },
    proxy: { ...p.proxy, images: 40, epochs: 1, batchSize: 20, warmupSteps: 1 },
    linearEval: {
      ...p.linearEval,
      minImages: 4,
      probe: { ...p.linearEval.probe, epochs: 1 },
      endToEnd: { ...p.linearEval.endToEnd, epochs: 1, batchSize: 8 },
    },
    detection: {
      ...p.detection,
      seedsPerSize: p.detection.inputSizes.map(() => 1),
      epochs: 1,
      // Batch 2: a 640 px ResNet-50 + FPN step keeps ~3 GiB per image on the CPU backend's tape (batch 4
      // peaked at 13.1 GiB, over the dry run's 12 GB budget).
      batchSize: 2,
      warmupSteps: 1,
      bootstrap: 20,
    },
    // Two test images; a few channels ablated (the paper's half of 2048 would be hours on a CPU).
    cam: { ...p.cam, images: 2, channelFraction: paper ? 0.01 : p.cam.channelFraction, batchSize: 16 },
  };
}

function parseSeed(value: string | undefined, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n)) throw new Error(`CXR_SEED=${value} is not an integer`);
  return n;
}

/**
 * Builds the config for a notebook: profile from `opts.profile`, else `CXR_PROFILE`, else `demo`;
 * then the environment (`CXR_BACKEND`, `CXR_SEED`, `CXR_NIH_DIR`, `CXR_VINDR_DIR`, `CXR_IMAGENET_WEIGHTS`,
 * `CXR_IMAGENET_WEIGHTS_BT`, `CXR_DRY_RUN`, `CXR_CHROMIUM`, `CXR_NO_PNG`); then the notebook's overrides, section by section.
 */
export function makeConfig(opts: MakeConfigOptions): Config {
  const env = opts.env ?? process.env;
  const profile = opts.profile ?? parseProfile(env.CXR_PROFILE);
  const dryRun = opts.dryRun ?? parseDryRun(env.CXR_DRY_RUN);
  const sizes = dryRun ? dryRunSizes(profile) : PROFILES[profile];
  const root = repoRoot();
  const seed = parseSeed(env.CXR_SEED, sizes.seed);
  // A dry run never reads the user's data: it rehearses on its phantom whatever the environment says.
  const real = !dryRun && (profile === 'paper' || Boolean(env.CXR_NIH_DIR));
  const vindrReal = !dryRun && (profile === 'paper' || Boolean(env.CXR_VINDR_DIR));
  const folder = dryRun ? `${profile}-dry-run` : profile;
  const synthRoot = join(root, 'data', `synthetic-${folder}`);
  const paths: Paths = {
    root,
    data: synthRoot,
    figures: dryRun || profile === 'smoke' ? join(root, 'figures', folder) : join(root, 'figures'),
    results: join(root, 'results', folder),
    checkpoints: join(root, 'checkpoints', folder),
    cache: join(root, '.cache', 'images'),
  };
  const base: Config = {
    profile,
    dryRun,
    notebook: opts.notebook,
    seed,
    seeds: env.CXR_SEED ? [seed] : [...sizes.seeds],
    backend: parseBackend(env.CXR_BACKEND),
    paths,
    data: {
      source: real ? 'real' : 'synthetic',
      vindrSource: vindrReal ? 'real' : 'synthetic',
      nihDir: real && env.CXR_NIH_DIR ? resolve(env.CXR_NIH_DIR) : join(synthRoot, 'nih'),
      vindrDir: vindrReal && env.CXR_VINDR_DIR ? resolve(env.CXR_VINDR_DIR) : join(synthRoot, 'vindr'),
      // The dry run's stand-in: random weights in torchvision's layout, written by `imagenetInit`.
      imagenetWeights: dryRun
        ? join(paths.checkpoints, DRY_RUN_IMAGENET_FILE)
        : env.CXR_IMAGENET_WEIGHTS
          ? resolve(env.CXR_IMAGENET_WEIGHTS)
          : '',
      imagenetWeightsBt: !dryRun && env.CXR_IMAGENET_WEIGHTS_BT ? resolve(env.CXR_IMAGENET_WEIGHTS_BT) : '',
      // The dry run streams every split, so that the paper's data path is the one rehearsed.
      inMemoryBytes: dryRun ? 0 : 2 ** 31,
      ...sizes.data,
    },
    backbone: { ...sizes.backbone, blocks: [...sizes.backbone.blocks] },
    // 0.5 sits in the usual 0.5–0.7 range of public VinDr pipelines; readers' boxes of one lesion
    // overlap less than two detectors' boxes do, so the lower end merges what should be merged.
    wbf: { iouThr: 0.5, skipBoxThr: 1e-4, confType: 'avg', splitFractions: [0.7, 0.15, 0.15] },
    pretrain: {
      ...sizes.pretrain,
      projector: [...sizes.pretrain.projector],
      cropScale: [...sizes.pretrain.cropScale],
    },
    proxy: { ...sizes.proxy },
    linearEval: {
      ...sizes.linearEval,
      fractions: [...sizes.linearEval.fractions],
      probe: { ...sizes.linearEval.probe },
      endToEnd: { ...sizes.linearEval.endToEnd },
      authorsProtocol: [...sizes.linearEval.authorsProtocol],
    },
    cam: { ...sizes.cam, layers: [...sizes.cam.layers] },
    detection: {
      ...sizes.detection,
      inputSizes: [...sizes.detection.inputSizes],
      laterSizeInits: [...sizes.detection.laterSizeInits],
      seedsPerSize: [...sizes.detection.seedsPerSize],
    },
    plots: {
      width: 900,
      height: 500,
      png: !env.CXR_NO_PNG,
      chromium: env.CXR_CHROMIUM ?? '',
    },
  };
  // Keras's ResNet50 is v1: every backbone of the comparison is built as the file's architecture.
  const keras = [base.data.imagenetWeights, base.data.imagenetWeightsBt].map((f) => /\.(h5|hdf5)$/i.test(f));
  if (keras[0] || keras[1]) base.backbone.variant = 'v1';
  return applyOverrides(base, opts);
}

function applyOverrides(base: Config, o: MakeConfigOptions): Config {
  const out: Config = { ...base };
  if (o.seed !== undefined) out.seed = o.seed;
  if (o.seeds !== undefined) out.seeds = [...o.seeds];
  if (o.backend !== undefined) out.backend = o.backend;
  if (o.paths) out.paths = { ...base.paths, ...o.paths };
  if (o.data) out.data = { ...base.data, ...o.data };
  if (o.backbone) out.backbone = { ...base.backbone, ...o.backbone };
  if (o.wbf) out.wbf = { ...base.wbf, ...o.wbf };
  if (o.pretrain) out.pretrain = { ...base.pretrain, ...o.pretrain };
  if (o.proxy) out.proxy = { ...base.proxy, ...o.proxy };
  if (o.linearEval) out.linearEval = { ...base.linearEval, ...o.linearEval };
  if (o.detection) out.detection = { ...base.detection, ...o.detection };
  if (o.cam) out.cam = { ...base.cam, ...o.cam };
  if (o.plots) out.plots = { ...base.plots, ...o.plots };
  if (!['train_val', 'all'].includes(out.pretrain.imageSet))
    throw new Error(`config: pretrain.imageSet must be 'train_val' or 'all', got ${out.pretrain.imageSet}`);
  if (!['last', 'lowest-loss'].includes(out.pretrain.transfer))
    throw new Error(
      `config: pretrain.transfer must be 'last' or 'lowest-loss', got ${out.pretrain.transfer}`,
    );
  if (out.cam.layers.length === 0 || out.cam.layers.some((l) => !CAM_LAYERS.includes(l)))
    throw new Error(
      `config: cam.layers [${out.cam.layers.join(', ')}] must be one or more of ${CAM_LAYERS.join(', ')}`,
    );
  if (!(out.cam.channelFraction > 0 && out.cam.channelFraction <= 1))
    throw new Error(`config: cam.channelFraction must be in (0, 1], got ${out.cam.channelFraction}`);
  if (
    (out.data.source === 'synthetic' && out.data.nihImages <= 0) ||
    (out.data.vindrSource === 'synthetic' && out.data.vindrImages <= 0)
  ) {
    throw new Error(
      `config: the synthetic data set needs nihImages and vindrImages > 0 (profile ${out.profile})`,
    );
  }
  return out;
}
