#!/usr/bin/env bash
# Install the Debian packages the tests need, only those missing.
#   chromium       real headless browser for page tests (driven by Playwright, executable_path)
#   fonts-noto-cjk Chinese glyphs in PDF/PNG output
#   poppler-utils  pdftoppm / pdffonts to check PDFs
#   libpango*      WeasyPrint's text layout
#   gettext        xgettext/msgmerge/msgfmt for the translation catalogue (make messages)
#   openjdk-17-jre-headless  Java for the Spark engine (winback[spark], --engine spark)
set -euo pipefail
want=(chromium fonts-noto-cjk fonts-dejavu-core poppler-utils libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0
  gettext openjdk-17-jre-headless)
missing=()
for p in "${want[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "system packages: all present"
  exit 0
fi
echo "system packages: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "system packages: done"
