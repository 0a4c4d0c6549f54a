if [ -x /usr/bin/systemctl ]; then /usr/bin/systemctl daemon-reload >/dev/null 2>&1 || :; fi
# (an upgrade hands the running daemon over in %posttrans: no restart here)
