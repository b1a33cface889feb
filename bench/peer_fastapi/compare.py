"""compare.py OURS_URL PEER_URL IMAGE...: posts each image to both servers'
/classify (use_spatial=true) and checks that they answer the same: the same
class, the same model, probabilities and spatial features within TOLERANCE.
Prints the largest differences; exits 1 when the two disagree, so that the
benchmark never compares servers that do different work.
"""

import json
import sys
import urllib.request
import uuid

TOLERANCE = 1e-4


def classify(url, path):
    with open(path, "rb") as f:
        data = f.read()
    boundary = uuid.uuid4().hex
    body = b"".join([
        f"--{boundary}\r\n".encode(),
        b'Content-Disposition: form-data; name="use_spatial"\r\n\r\ntrue\r\n',
        f"--{boundary}\r\n".encode(),
        b'Content-Disposition: form-data; name="file"; filename="i.jpg"\r\n',
        b"Content-Type: image/jpeg\r\n\r\n", data, b"\r\n",
        f"--{boundary}--\r\n".encode()])
    req = urllib.request.Request(
        url + "/classify", data=body, method="POST",
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.load(r)


def main():
    if len(sys.argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    ours_url, peer_url, images = sys.argv[1], sys.argv[2], sys.argv[3:]
    worst_p = worst_f = 0.0
    bad = []
    for path in images:
        a, b = classify(ours_url, path), classify(peer_url, path)
        if a["model_used"] != "spatial-mllm" or b["model_used"] != "spatial-mllm":
            bad.append(f"{path}: model_used {a['model_used']} / {b['model_used']}")
        if a["predicted_class"] != b["predicted_class"]:
            bad.append(f"{path}: class {a['predicted_class']} / {b['predicted_class']}")
        for k, v in a["probabilities"].items():
            worst_p = max(worst_p, abs(v - b["probabilities"][k]))
        for k, v in a["spatial_features"].items():
            worst_f = max(worst_f, abs(v - b["spatial_features"][k]))
    ok = not bad and worst_p <= TOLERANCE and worst_f <= TOLERANCE
    print(f"  same answers on {len(images)} image(s): largest probability "
          f"difference {worst_p:.2e}, largest spatial feature difference "
          f"{worst_f:.2e} (tolerance {TOLERANCE:g})  {'OK' if ok else 'DIFFERENT'}")
    for line in bad:
        print("   ", line)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
