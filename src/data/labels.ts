/** The label vocabularies of the two data sets. */

/** NIH ChestX-ray14 image-level labels, in the order of the data set's paper; "No Finding" last. */
export const NIH_LABELS = [
  'Atelectasis',
  'Cardiomegaly',
  'Effusion',
  'Infiltration',
  'Mass',
  'Nodule',
  'Pneumonia',
  'Pneumothorax',
  'Consolidation',
  'Edema',
  'Emphysema',
  'Fibrosis',
  'Pleural_Thickening',
  'Hernia',
  'No Finding',
] as const;
export type NihLabel = (typeof NIH_LABELS)[number];

/** Images per label in the real NIH set (112,120 images, 30,805 patients): the shape the phantom imitates. */
export const NIH_LABEL_COUNTS: Readonly<Record<NihLabel, number>> = {
  'No Finding': 60361,
  Infiltration: 19894,
  Effusion: 13317,
  Atelectasis: 11559,
  Nodule: 6331,
  Mass: 5782,
  Pneumothorax: 5302,
  Consolidation: 4667,
  Pleural_Thickening: 3385,
  Cardiomegaly: 2776,
  Emphysema: 2516,
  Edema: 2303,
  Fibrosis: 1686,
  Pneumonia: 1431,
  Hernia: 227,
};
export const NIH_TOTAL_IMAGES = 112120;
export const NIH_TOTAL_PATIENTS = 30805;

/** VinDr-CXR class names by class id (0–13); 14 is "No finding". */
export const VINDR_CLASSES = [
  'Aortic enlargement',
  'Atelectasis',
  'Calcification',
  'Cardiomegaly',
  'Consolidation',
  'ILD',
  'Infiltration',
  'Lung Opacity',
  'Nodule/Mass',
  'Other lesion',
  'Pleural effusion',
  'Pleural thickening',
  'Pneumothorax',
  'Pulmonary fibrosis',
  'No finding',
] as const;
export const VINDR_NO_FINDING = 14;

/** Reader-level boxes per class in the real VinDr-CXR training set (before fusion), by class id; 14 = "No finding" rows. */
export const VINDR_BOX_COUNTS: readonly number[] = [7162, 279, 960, 5427, 556, 1000, 1247, 2483, 2580, 2203, 2476, 4842, 226, 4655, 31818];
export const VINDR_TOTAL_IMAGES = 15000;
