"""Side-by-side reference for benches/face.rs: Python face_recognition 1.3.0 on the same images.

Arguments: PIXELS:FILE:top:right:bottom:left for each image: PIXELS is a PNG of the pixels our
JPEG decoder produced (JPEG decoders round differently, so both sides must see the same
pixels), FILE the original photo, and the box our detector found. Prints `pair i j distance`
with encodings from those pixels and boxes (same model, 5-point landmarks), and
`pair_ms X`, the median end-to-end time per pair as the package is normally used
(load_image_file, face_locations, face_encodings for both images, face_distance).
"""
import statistics
import sys
import time

import face_recognition

items = []
for arg in sys.argv[1:]:
    pixels, path, top, right, bottom, left = arg.rsplit(":", 5)
    items.append((path, (int(float(top)), int(float(right)), int(float(bottom)), int(float(left))), pixels))

encs = []
for _, box, pixels in items:
    img = face_recognition.load_image_file(pixels)
    encs.append(face_recognition.face_encodings(img, known_face_locations=[box], model="small")[0])
for i in range(len(encs)):
    for j in range(i + 1, len(encs)):
        d = face_recognition.face_distance([encs[i]], encs[j])[0]
        print(f"pair {i} {j} {d:.6f}")

pairs = [(i, j) for i in range(len(items)) for j in range(i + 1, len(items))]
times = []
for k in range(12):
    i, j = pairs[k % len(pairs)]
    t = time.perf_counter()
    out = []
    for path, _, _ in (items[i], items[j]):
        img = face_recognition.load_image_file(path)
        locs = face_recognition.face_locations(img)
        out.append(face_recognition.face_encodings(img, known_face_locations=locs[:1], model="small")[0])
    face_recognition.face_distance([out[0]], out[1])
    times.append((time.perf_counter() - t) * 1000.0)
print(f"pair_ms {statistics.median(times):.1f}")
