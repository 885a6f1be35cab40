"""Sans-IO Emites-Client protocol: framing, Latin-1 text policy, message models. No sockets."""
