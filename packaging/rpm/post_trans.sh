# upgrade: a running ldirector hands over to the new binary (same PID, no VRRP
# transition); one too old to hand over (exit 2) is restarted instead
if [ -S /run/ldirector/ldirector.sock ]; then
    if [ -x /usr/bin/systemctl ]; then /usr/bin/systemctl daemon-reload >/dev/null 2>&1 || :; fi
    rc=0
    /usr/sbin/ldirector upgrade --run-dir /run/ldirector || rc=$?
    if [ "$rc" -eq 2 ] && [ -x /usr/bin/systemctl ]; then
        echo "ldirector: the running ldirector cannot hand over: restarting it (a VRRP re-election)" >&2
        /usr/bin/systemctl try-restart ldirector.service >/dev/null 2>&1 || :
    elif [ "$rc" -ne 0 ]; then
        echo "ldirector: the running ldirector goes on with the previous binary (the reason is above); run 'ldirector upgrade' once it is fixed" >&2
    fi
fi
exit 0
