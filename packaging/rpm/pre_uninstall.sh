# erase (not upgrade): stop the service
if [ "$1" -eq 0 ] && [ -x /usr/bin/systemctl ]; then
    /usr/bin/systemctl --no-reload disable --now ldirector.service >/dev/null 2>&1 || :
fi
