"""meson dist script: put libsyssem's sources into the sdist.

`meson dist` takes this directory (python/) from git, where
subprojects/syssem is a link to the top of the source tree; in the sdist that
link would point nowhere. This script replaces it with the library as
committed at HEAD, the same revision meson dist uses for python/ itself,
without python/.
"""

import io
import os
import subprocess
import sys
import tarfile

dist = os.environ["MESON_PROJECT_DIST_ROOT"]
source = os.environ["MESON_PROJECT_SOURCE_ROOT"]
library = os.path.realpath(os.path.join(source, "subprojects", "syssem"))
target = os.path.join(dist, "subprojects", "syssem")
package = os.path.relpath(os.path.realpath(source), library)

archive = subprocess.run(
    ["git", "-C", library, "archive", "--format=tar", "HEAD",
     "--", ".", ":(exclude)" + package],
    check=True, stdout=subprocess.PIPE).stdout
if os.path.islink(target):
    os.unlink(target)
os.makedirs(target)
with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
    tar.extractall(target)
print(f"dist_library.py: libsyssem from {library} (HEAD) in "
      f"{os.path.relpath(target, dist)}", file=sys.stderr)
