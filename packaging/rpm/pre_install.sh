# the unprivileged user scripts run as by default (script_user overrides it)
getent group ldirector_script >/dev/null || groupadd -r ldirector_script
getent passwd ldirector_script >/dev/null || \
    useradd -r -g ldirector_script -M -d / -s /sbin/nologin \
        -c "ldirector scripts" ldirector_script
exit 0
