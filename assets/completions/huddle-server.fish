complete -c huddle-server -l bind -d 'TCP address to listen on for chat' -r
complete -c huddle-server -l name -d 'Server name shown to clients and in discovery' -r
complete -c huddle-server -l motd -d 'Message of the day, shown to every client on connect' -r
complete -c huddle-server -l max-clients -d 'Most connections at once' -r
complete -c huddle-server -l max-clients-per-ip -d 'Most connections at once from one IP address' -r
complete -c huddle-server -l max-pending-handshakes -d 'Most connections at once that have not said Hello yet' -r
complete -c huddle-server -l max-pending-handshakes-per-ip -d 'Most connections at once from one IP address that have not said Hello yet' -r
complete -c huddle-server -l listen-backlog -d 'Listen backlog (connections the kernel queues before they are accepted)' -r
complete -c huddle-server -l max-rooms-per-client -d 'Most rooms one client may be in at once' -r
complete -c huddle-server -l rooms-created-per-minute -d 'Rooms one client may create per minute (joining is not limited)' -r
complete -c huddle-server -l rate -d 'Sustained messages per second allowed per client' -r
complete -c huddle-server -l burst -d 'Messages a client may send in a burst above the rate' -r
complete -c huddle-server -l data-dir -d 'Where history is stored [default: the platform\'s data dir, e.g. ~/.local/share/huddle-server]' -r -F
complete -c huddle-server -l history-retention -d 'Messages of history kept on disk per room (older ones are deleted)' -r
complete -c huddle-server -l max-history-bytes -d 'Bytes of history kept on disk in all rooms and direct-message mailboxes together (the oldest messages go first)' -r
complete -c huddle-server -l history -d 'Messages of recent history kept in memory per room' -r
complete -c huddle-server -l history-on-join -d 'Messages of recent history sent to a client joining a room' -r
complete -c huddle-server -l ping-after -d 'Seconds of silence before a client is pinged (and as long again before it is dropped)' -r
complete -c huddle-server -l max-file-size -d 'Largest file relayed, in bytes' -r
complete -c huddle-server -l max-transfers -d 'File transfers one client may offer at once' -r
complete -c huddle-server -l write-interval-ms -d 'Least milliseconds between two writes to one client while messages keep coming (they are coalesced); 0 writes each message at once' -r
complete -c huddle-server -l nick-binding-days -d 'Days a nick stays bound to the key that last held it (nobody else may take it meanwhile); 0 turns binding off' -r
complete -c huddle-server -l http -d 'Serve a status page, /status.json, /metrics (Prometheus) and /healthz over HTTP on this address (127.0.0.1:7080 if given without one). Off by default; give 0.0.0.0:7080 to show it to the LAN' -r
complete -c huddle-server -l irc-bind -d 'Also serve IRC clients (weechat, irssi…) on this address, e.g. 0.0.0.0:6667: they join the same rooms (plain TCP; off by default)' -r
complete -c huddle-server -l irc-tls-bind -d 'The IRC gateway over TLS too, on this address (e.g. 0.0.0.0:6697), with the server\'s certificate: pin its fingerprint in the client' -r
complete -c huddle-server -l cluster -d 'Be a node of a cluster through this NATS server (nats://HOST:4222, started with -js; tls://… and USER:PASSWORD@ as nats-server expects); repeat for several. Rooms and nicks are shared by every node; history lives in JetStream (no --data-dir store); with --fingerprint, prints the cluster\'s. HUDDLE_CLUSTER (URLs separated by commas) keeps a password out of the process list' -r
complete -c huddle-server -l cluster-ca -d 'With --cluster: the PEM certificates that sign NATS\'s (a private CA or a self-signed nats-server); TLS to NATS is then required' -r -F
complete -c huddle-server -l cluster-cert -d 'With --cluster: this node\'s TLS client certificate (PEM), for a nats-server that verifies clients; with --cluster-key' -r -F
complete -c huddle-server -l cluster-key -d 'The key of --cluster-cert (PEM)' -r -F
complete -c huddle-server -l advertise -d 'With --cluster: the chat address clients reach this node at, listed in every node\'s discovery beacons (repeat for several; default: the bound address, or every interface\'s when bound to 0.0.0.0)' -r
complete -c huddle-server -l discovery-port -d 'UDP port for LAN discovery' -r
complete -c huddle-server -l announce-to -d 'Where discovery announcements and the goodbye go (repeat for several); default: 255.255.255.255 and 127.255.255.255 on the discovery port (the LAN and this host)' -r
complete -c huddle-server -l announce-every -d 'Seconds between discovery announcements' -r
complete -c huddle-server -l log -d 'Log filter (tracing\'s env-filter syntax), e.g. `info` or `huddle_server=debug`' -r
complete -c huddle-server -l log-format -d 'Log format' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line'"
complete -c huddle-server -l no-rate-limit -d 'Turn the per-client rate limit off (for benchmarks)'
complete -c huddle-server -l ephemeral -d 'Keep history in memory only: nothing is written to disk, and all history is lost when the server stops'
complete -c huddle-server -l insecure-plaintext -d 'Also accept clients that do not use TLS (benchmarks and debugging: everything, room passwords too, crosses the network in the clear)'
complete -c huddle-server -l fingerprint -d 'Print this server\'s certificate fingerprint (making its identity in the data dir if there is none yet) and exit'
complete -c huddle-server -l no-discovery -d 'Do not answer or send LAN discovery datagrams'
complete -c huddle-server -s h -l help -d 'Print help (see more with \'--help\')'
complete -c huddle-server -s V -l version -d 'Print version'
