// Anchor for the handoff_precompiled target: it only exists to build cmake/precompiled.h.
