"""Live channels: one reader and one worker thread per RTSP stream, run by the server's ChannelManager."""
