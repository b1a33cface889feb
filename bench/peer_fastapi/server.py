"""The peer of bench/peer_fastapi.sh: the original project's serving stack
(FastAPI + uvicorn + PyTorch, all from Debian) serving our spatial model's
TorchScript export with our preprocessing (preprocess.py).

  PEER_MODEL_DIR=models/spatial-pizza-v1 python3 -m uvicorn server:app \
      --app-dir bench/peer_fastapi --port 8002 --workers 2

Environment: PEER_MODEL_DIR (a bundle with manifest.json and
model.torchscript.pt; required), PEER_TORCH_THREADS (intra-op threads per
worker process, default 1: one process per core, as our server runs one
inference thread per core).

Endpoints, with the original API's shapes: GET /health, POST /classify and
POST /predict/spatial (multipart field `file`; /classify also takes
`use_spatial` and `return_probabilities`). Every request runs the spatial
model; this peer has no standard model and no A/B split.
"""

import datetime
import json
import os
import time

import numpy as np
import torch
from fastapi import FastAPI, File, Form, UploadFile
from fastapi.responses import JSONResponse

import preprocess

MODEL_DIR = os.environ.get("PEER_MODEL_DIR", "")
if not MODEL_DIR:
    raise SystemExit("set PEER_MODEL_DIR to a model bundle directory")
torch.set_num_threads(int(os.environ.get("PEER_TORCH_THREADS", "1")))

with open(os.path.join(MODEL_DIR, "manifest.json")) as f:
    MANIFEST = json.load(f)
CLASSES = MANIFEST["classes"]
PRE = MANIFEST["preprocessing"]
MEAN = PRE["normalization"]["mean"]
STD = PRE["normalization"]["std"]
VISUAL_SIZE = int(PRE["visual_size"])
SPATIAL_SIZE = int(PRE["spatial_size"])
MODEL = torch.jit.load(os.path.join(MODEL_DIR, MANIFEST["files"]["torchscript"]))
MODEL.eval()
VERSION = f'{MANIFEST["name"]}-v{MANIFEST["version"]}'

app = FastAPI(title="pizza-api-spatial (PyTorch peer)")


def error(status, message):
    return JSONResponse(status_code=status, content={"error": message})


def classify_bytes(data, return_probabilities):
    start = time.perf_counter()
    bgr = preprocess.decode(data)
    if bgr is None:
        return error(400, "the upload is not a JPEG, PNG or WebP image")
    visual = preprocess.visual_tensor(bgr, VISUAL_SIZE, MEAN, STD)
    spatial, depth, normals = preprocess.spatial_tensor(bgr, SPATIAL_SIZE)
    with torch.no_grad():
        logits = MODEL(torch.from_numpy(visual)[None],
                       torch.from_numpy(spatial)[None])
        probs = torch.softmax(logits, dim=1)[0].numpy()
    best = int(np.argmax(probs))
    return {
        "predicted_class": CLASSES[best],
        "confidence": float(probs[best]),
        "probabilities": ({c: float(p) for c, p in zip(CLASSES, probs)}
                          if return_probabilities else None),
        "model_used": "spatial-mllm",
        "model_version": VERSION,
        "inference_time": time.perf_counter() - start,
        "spatial_features": preprocess.spatial_features(depth, normals),
        "visualization_url": None,
        "ab_test_group": None,
        "timestamp": datetime.datetime.now(datetime.timezone.utc).isoformat(),
    }


async def read_upload(file):
    data = await file.read()
    if len(data) > preprocess.MAX_BYTES:
        return None, error(413, "the image is larger than 10 MB")
    if file.content_type not in ("image/jpeg", "image/png", "image/webp",
                                 "application/octet-stream", None):
        return None, error(400, f"content type {file.content_type} is not an image")
    return data, None


@app.get("/health")
async def health():
    return {"status": "healthy", "model_version": VERSION}


# `async def` handlers run the work on the event loop itself: one request at a
# time per process, no thread-pool hand-off. With one torch thread per process
# and one process per core that is the fastest shape of this stack measured
# here (bench/README.md, peer_fastapi).
@app.post("/classify")
async def classify(file: UploadFile = File(...), use_spatial: bool = Form(True),
                   return_probabilities: bool = Form(True)):
    data, err = await read_upload(file)
    if err is not None:
        return err
    if not use_spatial:
        return error(400, "this peer serves the spatial model only")
    return classify_bytes(data, return_probabilities)


@app.post("/predict/spatial")
async def predict_spatial(file: UploadFile = File(...)):
    data, err = await read_upload(file)
    if err is not None:
        return err
    return classify_bytes(data, True)
