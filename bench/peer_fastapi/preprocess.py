"""The preprocessing of src/vision/preprocess.cc, in Python on OpenCV + numpy.

The peer of bench/peer_fastapi.sh must feed the model exactly what our C++
server feeds it. Each step below names the C++ it mirrors; the benchmark
checks the result by comparing the peer's probabilities and spatial features
with ours on the benchmark image before it measures anything.

Decoding: cv2.imdecode (Debian's OpenCV decodes JPEG with libjpeg-turbo, the
library our C++ calls through TurboJPEG; both use the same IDCT and
upsampling defaults), to BGR.
"""

import cv2
import numpy as np

MAX_BYTES = 10 * 1024 * 1024  # the original API's limit, as DecodeLimits


def decode(data):
    """DecodeImage: bytes -> 8-bit BGR, or None when it is not an image."""
    buf = np.frombuffer(data, dtype=np.uint8)
    img = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    return img


def resize_square(bgr, size):
    """ResizeSquare: area when shrinking, bilinear when growing."""
    h, w = bgr.shape[:2]
    if h == size and w == size:
        return bgr
    interp = cv2.INTER_AREA if (w > size or h > size) else cv2.INTER_LINEAR
    return cv2.resize(bgr, (size, size), interpolation=interp)


def visual_tensor(bgr, size, mean, std):
    """VisualTensor: RGB planes of (x / 255 - mean) / std, float32 [3,H,W]."""
    img = resize_square(bgr, size)
    rgb = img[:, :, ::-1].astype(np.float32) / np.float32(255.0)
    t = (rgb - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)
    return np.ascontiguousarray(t.transpose(2, 0, 1))


def percentile(values, q):
    """Percentile: numpy's linear interpolation, computed as the C++ does
    (float values, double position, the result rounded to float)."""
    n = values.size
    pos = (q / 100.0) * (n - 1)
    lo = int(np.floor(pos))
    hi = min(lo + 1, n - 1)
    part = np.partition(values, (lo, hi))
    a, b = float(part[lo]), float(part[hi])
    return np.float32(a + (b - a) * (pos - lo))


def spatial_maps(bgr):
    """ComputeSpatialMaps: the edge-based depth and its unit normals."""
    grey8 = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    grey = grey8.astype(np.float32) * np.float32(1.0 / 255.0)
    lap = np.abs(cv2.Laplacian(grey, cv2.CV_32F))
    g = grey.ravel()
    p25, p30, p75 = (percentile(g, q) for q in (25, 30, 75))
    l80 = percentile(lap.ravel(), 80)
    h, w = grey.shape
    band = min(h, w) // 8
    in_band = np.ones((h, w), bool)
    in_band[band:h - band, band:w - band] = False
    depth = np.full((h, w), 0.5, np.float32)
    depth[in_band & (grey > p75)] += np.float32(0.3)
    depth[(lap > l80) & (grey > p30) & (grey < p75)] += np.float32(0.15)
    depth[grey < p25] -= np.float32(0.2)
    depth = cv2.GaussianBlur(depth, (7, 7), 2.0)
    depth = np.clip(depth, np.float32(0), np.float32(1))
    dx = cv2.Sobel(depth, cv2.CV_32F, 1, 0, ksize=3)
    dy = cv2.Sobel(depth, cv2.CV_32F, 0, 1, ksize=3)
    inv = np.float32(1.0) / np.sqrt(dx * dx + dy * dy + np.float32(1.0))
    normals = np.stack([-dx * inv, -dy * inv, inv], axis=0)  # nx, ny, nz
    return depth, normals


def spatial_tensor(bgr, size):
    """SpatialTensor: depth, nx, ny, nz planes, float32 [4,H,W]."""
    depth, normals = spatial_maps(resize_square(bgr, size))
    return np.concatenate([depth[None], normals], axis=0), depth, normals


def spatial_features(depth, normals):
    """ComputeSpatialFeatures: the statistics the API reports."""
    d = depth.ravel()
    nz = normals[2].astype(np.float64)
    tilt = np.arccos(np.clip(normals[2], -1.0, 1.0)).astype(np.float64)
    return {
        "depth_mean": float(d.astype(np.float64).mean()),
        "depth_std": float(d.astype(np.float64).std()),
        "depth_p10": float(percentile(d, 10)),
        "depth_p50": float(percentile(d, 50)),
        "depth_p90": float(percentile(d, 90)),
        "raised_fraction": float((d > 0.6).mean()),
        "recessed_fraction": float((d < 0.4).mean()),
        "normal_z_mean": float(nz.mean()),
        "mean_tilt_degrees": float(tilt.mean() * 180.0 / np.pi),
        "surface_roughness": float(nz.std()),
    }
