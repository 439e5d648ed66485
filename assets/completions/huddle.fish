# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_huddle_global_optspecs
    string join \n host detach name= port= connect= nick= room= history= plain probe= downloads= accept-files-from= accept-files-below= discovery-port= no-discovery loopback-only config= fingerprint= insecure-plaintext h/help V/version
end

function __fish_huddle_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_huddle_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_huddle_using_subcommand
    set -l cmd (__fish_huddle_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c huddle -n "__fish_huddle_needs_command" -l name -d 'The hosted server\'s name on the LAN' -r
complete -c huddle -n "__fish_huddle_needs_command" -l port -d 'TCP port for the hosted server (another free port if taken)' -r
complete -c huddle -n "__fish_huddle_needs_command" -l connect -d 'Connect to this server (HOST[:PORT]) instead of browsing; several, comma-separated (the nodes of a cluster), are tried in turn' -r
complete -c huddle -n "__fish_huddle_needs_command" -l nick -d 'Your nick (remembered for next time)' -r
complete -c huddle -n "__fish_huddle_needs_command" -l room -d 'Rooms to join (repeatable; default #general)' -r
complete -c huddle -n "__fish_huddle_needs_command" -l history -d 'Plain mode: print the last N messages of each room on joining it, marked as history' -r
complete -c huddle -n "__fish_huddle_needs_command" -l probe -d 'Also probe this host by unicast, for networks that drop broadcast (repeatable)' -r
complete -c huddle -n "__fish_huddle_needs_command" -l downloads -d 'Where received files are saved [default: the platform\'s download dir]' -r -F
complete -c huddle -n "__fish_huddle_needs_command" -l accept-files-from -d 'Accept files from this nick without asking (repeatable)' -r
complete -c huddle -n "__fish_huddle_needs_command" -l accept-files-below -d 'Accept files up to this many bytes from anyone without asking' -r
complete -c huddle -n "__fish_huddle_needs_command" -l discovery-port -d 'UDP port for LAN discovery' -r
complete -c huddle -n "__fish_huddle_needs_command" -l config -d 'The config file (default: the platform\'s config dir). The known-servers file lives beside it' -r -F
complete -c huddle -n "__fish_huddle_needs_command" -l fingerprint -d 'Trust only a server with this certificate fingerprint (SHA256:…), instead of the known-servers file' -r
complete -c huddle -n "__fish_huddle_needs_command" -l host -d 'Host a server on this machine and join it'
complete -c huddle -n "__fish_huddle_needs_command" -l detach -d 'With --host: run the server in a process of its own that keeps serving after you quit (stop it with `kill PID`, as it says)'
complete -c huddle -n "__fish_huddle_needs_command" -l plain -d 'Plain line mode: stdin lines are sent, events are printed one per line'
complete -c huddle -n "__fish_huddle_needs_command" -l no-discovery -d 'With --host: do not announce the hosted server on the LAN (others connect by address)'
complete -c huddle -n "__fish_huddle_needs_command" -l loopback-only -d 'Probe only this host\'s loopback, never the LAN (for tests)'
complete -c huddle -n "__fish_huddle_needs_command" -l insecure-plaintext -d 'No TLS: chat, passwords and files cross the network in the clear (benchmarks and debugging; the server must allow it too)'
complete -c huddle -n "__fish_huddle_needs_command" -s h -l help -d 'Print help'
complete -c huddle -n "__fish_huddle_needs_command" -s V -l version -d 'Print version'
complete -c huddle -n "__fish_huddle_needs_command" -f -a "discover" -d 'List the huddle servers on your network, then exit'
complete -c huddle -n "__fish_huddle_needs_command" -f -a "__serve-hosted" -d '(Internal) the detached hosted server of `--host --detach`'
complete -c huddle -n "__fish_huddle_needs_command" -f -a "trust" -d 'Accept the certificate the server at HOST[:PORT] presents now, and remember it (after its operator confirmed the fingerprint)'
complete -c huddle -n "__fish_huddle_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c huddle -n "__fish_huddle_using_subcommand discover" -l timeout -d 'Seconds to listen for answers' -r
complete -c huddle -n "__fish_huddle_using_subcommand discover" -l probe -d 'Also probe this host by unicast, for networks that drop broadcast (repeatable)' -r
complete -c huddle -n "__fish_huddle_using_subcommand discover" -l downloads -d 'Where received files are saved [default: the platform\'s download dir]' -r -F
complete -c huddle -n "__fish_huddle_using_subcommand discover" -l accept-files-from -d 'Accept files from this nick without asking (repeatable)' -r
complete -c huddle -n "__fish_huddle_using_subcommand discover" -l accept-files-below -d 'Accept files up to this many bytes from anyone without asking' -r
complete -c huddle -n "__fish_huddle_using_subcommand discover" -l discovery-port -d 'UDP port for LAN discovery' -r
complete -c huddle -n "__fish_huddle_using_subcommand discover" -l config -d 'The config file (default: the platform\'s config dir). The known-servers file lives beside it' -r -F
complete -c huddle -n "__fish_huddle_using_subcommand discover" -l fingerprint -d 'Trust only a server with this certificate fingerprint (SHA256:…), instead of the known-servers file' -r
complete -c huddle -n "__fish_huddle_using_subcommand discover" -l json -d 'Print one JSON object instead of a table'
complete -c huddle -n "__fish_huddle_using_subcommand discover" -l loopback-only -d 'Probe only this host\'s loopback, never the LAN (for tests)'
complete -c huddle -n "__fish_huddle_using_subcommand discover" -l insecure-plaintext -d 'No TLS: chat, passwords and files cross the network in the clear (benchmarks and debugging; the server must allow it too)'
complete -c huddle -n "__fish_huddle_using_subcommand discover" -s h -l help -d 'Print help'
complete -c huddle -n "__fish_huddle_using_subcommand __serve-hosted" -l probe -d 'Also probe this host by unicast, for networks that drop broadcast (repeatable)' -r
complete -c huddle -n "__fish_huddle_using_subcommand __serve-hosted" -l downloads -d 'Where received files are saved [default: the platform\'s download dir]' -r -F
complete -c huddle -n "__fish_huddle_using_subcommand __serve-hosted" -l accept-files-from -d 'Accept files from this nick without asking (repeatable)' -r
complete -c huddle -n "__fish_huddle_using_subcommand __serve-hosted" -l accept-files-below -d 'Accept files up to this many bytes from anyone without asking' -r
complete -c huddle -n "__fish_huddle_using_subcommand __serve-hosted" -l discovery-port -d 'UDP port for LAN discovery' -r
complete -c huddle -n "__fish_huddle_using_subcommand __serve-hosted" -l config -d 'The config file (default: the platform\'s config dir). The known-servers file lives beside it' -r -F
complete -c huddle -n "__fish_huddle_using_subcommand __serve-hosted" -l fingerprint -d 'Trust only a server with this certificate fingerprint (SHA256:…), instead of the known-servers file' -r
complete -c huddle -n "__fish_huddle_using_subcommand __serve-hosted" -l loopback-only -d 'Probe only this host\'s loopback, never the LAN (for tests)'
complete -c huddle -n "__fish_huddle_using_subcommand __serve-hosted" -l insecure-plaintext -d 'No TLS: chat, passwords and files cross the network in the clear (benchmarks and debugging; the server must allow it too)'
complete -c huddle -n "__fish_huddle_using_subcommand __serve-hosted" -s h -l help -d 'Print help'
complete -c huddle -n "__fish_huddle_using_subcommand trust" -l probe -d 'Also probe this host by unicast, for networks that drop broadcast (repeatable)' -r
complete -c huddle -n "__fish_huddle_using_subcommand trust" -l downloads -d 'Where received files are saved [default: the platform\'s download dir]' -r -F
complete -c huddle -n "__fish_huddle_using_subcommand trust" -l accept-files-from -d 'Accept files from this nick without asking (repeatable)' -r
complete -c huddle -n "__fish_huddle_using_subcommand trust" -l accept-files-below -d 'Accept files up to this many bytes from anyone without asking' -r
complete -c huddle -n "__fish_huddle_using_subcommand trust" -l discovery-port -d 'UDP port for LAN discovery' -r
complete -c huddle -n "__fish_huddle_using_subcommand trust" -l config -d 'The config file (default: the platform\'s config dir). The known-servers file lives beside it' -r -F
complete -c huddle -n "__fish_huddle_using_subcommand trust" -l fingerprint -d 'Trust only a server with this certificate fingerprint (SHA256:…), instead of the known-servers file' -r
complete -c huddle -n "__fish_huddle_using_subcommand trust" -l loopback-only -d 'Probe only this host\'s loopback, never the LAN (for tests)'
complete -c huddle -n "__fish_huddle_using_subcommand trust" -l insecure-plaintext -d 'No TLS: chat, passwords and files cross the network in the clear (benchmarks and debugging; the server must allow it too)'
complete -c huddle -n "__fish_huddle_using_subcommand trust" -s h -l help -d 'Print help'
complete -c huddle -n "__fish_huddle_using_subcommand help; and not __fish_seen_subcommand_from discover __serve-hosted trust help" -f -a "discover" -d 'List the huddle servers on your network, then exit'
complete -c huddle -n "__fish_huddle_using_subcommand help; and not __fish_seen_subcommand_from discover __serve-hosted trust help" -f -a "__serve-hosted" -d '(Internal) the detached hosted server of `--host --detach`'
complete -c huddle -n "__fish_huddle_using_subcommand help; and not __fish_seen_subcommand_from discover __serve-hosted trust help" -f -a "trust" -d 'Accept the certificate the server at HOST[:PORT] presents now, and remember it (after its operator confirmed the fingerprint)'
complete -c huddle -n "__fish_huddle_using_subcommand help; and not __fish_seen_subcommand_from discover __serve-hosted trust help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
