#!/bin/sh
# Downloads Grafana dashboard 18030, "k6 Prometheus (Native Histograms)"
# (grafana/xk6-output-prometheus-remote, AGPL-3.0), into a dashboards folder,
# and presets its data source variable (DS_PROMETHEUS) to the data source that
# deploy/grafana/provisioning provisions (uid "prometheus").
#
# deploy/docker-compose.yml runs it before Grafana starts; by hand:
#     sh deploy/scripts/fetch-k6-dashboard.sh deploy/grafana/dashboards
# A failed download is reported and skipped (exit 0), so that Grafana still
# starts, with Volley's own dashboard.
#
# Environment: K6_DASHBOARD_URL (another revision or a mirror), FORCE=1 to
# download again when the file is already there.
set -eu

out_dir=${1:-/dashboards}
url=${K6_DASHBOARD_URL:-https://grafana.com/api/dashboards/18030/revisions/latest/download}
file="$out_dir/k6-prometheus-native-histograms.json"

if [ -s "$file" ] && [ "${FORCE:-0}" != 1 ]; then
    echo "fetch-k6-dashboard: $file is already there (FORCE=1 to download again)"
    exit 0
fi

mkdir -p "$out_dir"
tmp="$file.download"
trap 'rm -f "$tmp"' EXIT
echo "fetch-k6-dashboard: downloading $url"
if ! curl -fsSL --retry 3 --retry-delay 2 -o "$tmp" "$url"; then
    echo "fetch-k6-dashboard: could not download $url; Grafana starts without it" >&2
    exit 0
fi

# A dashboard is a JSON object; anything else (an HTML error page) is refused.
if [ "$(head -c 1 "$tmp")" != "{" ]; then
    echo "fetch-k6-dashboard: $url did not return a JSON dashboard; Grafana starts without it" >&2
    exit 0
fi

# The published file presets DS_PROMETHEUS to its author's data source uid
# (P1809F7CD0C75ACF3). Point it at ours; if a later revision has another uid,
# Grafana falls back to the default Prometheus data source, which is ours too.
sed -e 's/"value": "P1809F7CD0C75ACF3"/"value": "prometheus"/' "$tmp" > "$file"
echo "fetch-k6-dashboard: wrote $file"
