//! Uploaded documents and images become text the agents can use.
