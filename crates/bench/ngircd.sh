# Sourced by the comparison scripts: Debian's ngircd, configured for load.
#
# ngircd_conf NAME PORT [PEER [PEER_PORT]]: prints a config for ngircd
# NAME.irc listening on 127.0.0.1:PORT with its limits raised as far as it
# allows (pid file in $work); with PEER, linked to PEER.irc, connecting to
# it on PEER_PORT if given (else waiting for it to connect).
ngircd_conf() {
    cat <<CONF
[Global]
Name = $1.irc
Info = huddle comparison
Listen = 127.0.0.1
Ports = $2
PidFile = $work/$1.pid
MotdPhrase = bench
ServerUID = $(id -u)
ServerGID = $(id -g)
[Limits]
MaxConnections = 0
MaxConnectionsIP = 0
MaxJoins = 0
MaxNickLength = 30
MaxPenaltyTime = 0
PingTimeout = 3600
PongTimeout = 3600
ConnectRetry = 5
[Options]
DNS = no
Ident = no
PAM = no
CONF
    [ -n "${3:-}" ] || return 0
    cat <<CONF
[Server]
Name = $3.irc
Host = 127.0.0.1
${4:+Port = $4}
MyPassword = bench-link
PeerPassword = bench-link
CONF
}
