if [ -x /usr/bin/systemctl ]; then /usr/bin/systemctl daemon-reload >/dev/null 2>&1 || :; fi
# upgrade: restart a running service on the new binary
if [ "$1" -ge 1 ] && [ -x /usr/bin/systemctl ]; then
    /usr/bin/systemctl try-restart ldirector.service >/dev/null 2>&1 || :
fi
