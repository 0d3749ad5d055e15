#!/usr/bin/env bash
# Regenerate the zh-Hans catalogue from the whole src/winback tree and compile it.
#   scripts/update-catalogue.sh            (or: make messages)
# makemessages runs from src/winback so every module and template is scanned; with the project's
# settings all strings land in LOCALE_PATHS (src/winback/web/locale). Existing translations are
# kept (msgmerge), strings no longer in the code are dropped, new ones arrive untranslated:
# translate them, then run this again to compile the .mo. Needs GNU gettext (xgettext, msgfmt).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
python="${PYTHON:-$root/.venv/bin/python}"
locale_dir="$root/src/winback/web/locale"
po="$locale_dir/zh_Hans/LC_MESSAGES/django.po"

command -v xgettext >/dev/null || { echo "GNU gettext is missing: make system-deps" >&2; exit 1; }
export DJANGO_SETTINGS_MODULE=winback.web.settings
export PYTHONPATH="$root/src${PYTHONPATH:+:$PYTHONPATH}"
# the settings create the data folder; keep it out of the scanned tree
export WINBACK_DATA_DIR="${WINBACK_DATA_DIR:-$root/var}"

cd "$root/src/winback"
# file-only locations: a line moving in a module does not rewrite the catalogue
"$python" -m django makemessages --locale zh_Hans --no-obsolete --add-location file \
  --ignore 'reporting/templates/*'
msgfmt --check-format --output-file "${po%.po}.mo" "$po"
msgfmt --statistics --output-file /dev/null "$po"
