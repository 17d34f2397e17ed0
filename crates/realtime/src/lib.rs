//! Events to users' live connections across api processes, and replayable turn event logs.
