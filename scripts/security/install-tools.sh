#!/usr/bin/env bash
# Installs the Debian scanners the security stages need (idempotent: apt is skipped when all are present).
# sqlmap, wapiti, ffuf, wfuzz and chromium come from Debian main; gitleaks (trixie) and nikto
# (bookworm non-free) are fetched as single .debs through a private apt state directory, so the
# system's apt sources are never changed.
set -euo pipefail

MAIN_PACKAGES=(sqlmap wapiti ffuf wfuzz chromium)
have_all_main=true
for p in "${MAIN_PACKAGES[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || { have_all_main=false; break; }
done

SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi

if [ "$have_all_main" = false ]; then
  echo "install-tools: installing ${MAIN_PACKAGES[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${MAIN_PACKAGES[@]}" >/dev/null
else
  echo "install-tools: ${MAIN_PACKAGES[*]} already installed (apt-get update skipped)"
fi

if ! command -v gitleaks >/dev/null 2>&1 || ! command -v nikto >/dev/null 2>&1; then
  echo "install-tools: installing gitleaks and nikto from their Debian suites"
  U=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  U=${U:-http://deb.debian.org/debian}
  X=$(mktemp -d)
  trap 'rm -rf "$X"' EXIT
  mkdir -p "$X/lists/partial" "$X/cache/archives/partial"
  printf 'deb %s bookworm non-free\ndeb %s trixie main\n' "$U" "$U" > "$X/sources.list"
  O=(-o "Dir::Etc::SourceList=$X/sources.list" -o Dir::Etc::SourceParts=/nonexistent -o "Dir::State::Lists=$X/lists" -o "Dir::Cache=$X/cache" -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache=)
  $SUDO apt-get "${O[@]}" update -qq
  (cd "$X" && $SUDO apt-get "${O[@]}" download gitleaks nikto >/dev/null)
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends libwhisker2-perl libjson-pp-perl libnet-ssleay-perl >/dev/null
  $SUDO dpkg -i "$X"/gitleaks_*.deb "$X"/nikto_*.deb >/dev/null
else
  echo "install-tools: gitleaks and nikto already installed"
fi

for c in sqlmap wapiti ffuf wfuzz nikto gitleaks; do
  command -v "$c" >/dev/null 2>&1 || { echo "install-tools: $c is missing after install" >&2; exit 1; }
done
