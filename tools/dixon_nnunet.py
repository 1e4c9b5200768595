#!/usr/bin/python3
"""Build an nnU-Net v2 dataset from ../shared/data/lumbar-dixon-mri (MyoSegmenTUM spine, 2 subjects) for the
3D U-Net of issue 12: water (_0000) and fat (_0001) as two channels, the four paraspinal muscle labels.

  /usr/bin/python3 tools/dixon_nnunet.py OUT [--split Z]

Only TUM01 has labels (TUM02 has none), so no labelled held-out subject exists. TUM01 is cut along z into
two slabs: slices 0..Z-1 (caudal, default Z 20) are the training case imagesTr/TUM01lo, slices Z..28 the
held-out case imagesTs/TUM01hi with its truth in labelsTs/ (not part of nnU-Net's layout; for dolor eval).
The slabs are written as new NIfTI files (nibabel's slicer moves the origin with the crop, so each slab
keeps its place in the scanner); TUM02's two volumes are linked in place into imagesTs/ (never copied).
Nothing is written inside the repository unless OUT points there.

Labels (checked from the anatomy, the source's own notes disagree): in TUM01 the four labels sit at mean
voxel x 158, 184, 215, 239 (the spine's midline at about 198; NIfTI x points to the patient's right in
RAS, so a lower x is the patient's right), with 49k, 15k, 17k and 46k voxels: 1 = right erector spinae
(lateral, large), 2 = right multifidus (medial), 3 = left multifidus, 4 = left erector spinae.
"""
import argparse
import json
import os
import sys

import nibabel as nib
import numpy as np

SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "data", "lumbar-dixon-mri")
LABELS = {"background": 0, "erector_spinae_right": 1, "multifidus_right": 2, "multifidus_left": 3,
          "erector_spinae_left": 4}


def src(name):
    return os.path.join(SRC, name)


def slab(path, z0, z1, out, dtype=None):
    img = nib.load(path)
    s = img.slicer[:, :, z0:z1]
    data = np.asarray(s.dataobj)
    if dtype is not None:
        data = data.astype(dtype)
    hdr = s.header.copy()
    hdr.set_data_dtype(data.dtype)
    o = nib.Nifti1Image(data, s.affine, hdr)
    # keep the file's own qform/sform codes (the water and label files have a qform only)
    o.set_qform(s.affine, int(img.header["qform_code"]))
    o.set_sform(s.affine if int(img.header["sform_code"]) else None, int(img.header["sform_code"]))
    nib.save(o, out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--split", type=int, default=20, help="first held-out slice (default 20 of 29)")
    a = ap.parse_args()
    for d in ("imagesTr", "labelsTr", "imagesTs", "labelsTs"):
        os.makedirs(os.path.join(a.out, d), exist_ok=True)
    water, fat = src("TUM01_water_img_img_L2-L5.nii.gz"), src("TUM01_fat_img_img_L2-L5.nii.gz")
    lab = src("TUM01_water_manual_label_segmentation_L2-L5.nii.gz")
    nz = nib.load(water).shape[2]
    if not 8 <= a.split <= nz - 1:
        sys.exit("--split %d: must leave at least 8 training slices and 1 held-out slice of %d" % (a.split, nz))
    for case, z0, z1, split in (("TUM01lo", 0, a.split, "Tr"), ("TUM01hi", a.split, nz, "Ts")):
        slab(water, z0, z1, os.path.join(a.out, "images" + split, case + "_0000.nii.gz"))
        slab(fat, z0, z1, os.path.join(a.out, "images" + split, case + "_0001.nii.gz"), np.float32)
        slab(lab, z0, z1, os.path.join(a.out, "labels" + split, case + ".nii.gz"), np.uint8)
    for ch, name in (("0000", "water"), ("0001", "fat")):
        link = os.path.join(a.out, "imagesTs", "TUM02_%s.nii.gz" % ch)
        if os.path.lexists(link):
            os.remove(link)
        os.symlink(os.path.abspath(src("TUM02_%s_img_img_L2-L5.nii.gz" % name)), link)
    with open(os.path.join(a.out, "dataset.json"), "w") as f:
        json.dump({"channel_names": {"0": "water", "1": "fat"}, "labels": LABELS, "numTraining": 1,
                   "file_ending": ".nii.gz",
                   "description": "lumbar-dixon-mri TUM01 slices 0..%d (training); held out: TUM01 slices "
                                  "%d..%d (imagesTs/labelsTs), TUM02 (no labels)" % (a.split - 1, a.split, nz - 1)},
                  f, indent=2)
    print("%s: imagesTr/TUM01lo (slices 0..%d), imagesTs/TUM01hi (slices %d..%d) + labelsTs, imagesTs/TUM02 (linked)"
          % (a.out, a.split - 1, a.split, nz - 1))


if __name__ == "__main__":
    main()
