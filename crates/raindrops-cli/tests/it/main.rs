//! Integration tests that run the real `raindrops` binary (one test binary, many modules).

mod conventions;
mod deploy_grafana;
mod deploy_rules;
mod deploy_systemd;
mod dump;
mod golden;
mod names;
mod recycle;
mod recycle_connections;
mod recycle_escalation;
mod recycle_metrics;
mod recycle_pid_reuse;
mod recycle_scrape;
mod recycle_servers;
mod recycle_sidecar;
mod recycle_signals;
mod segment_files;
mod serve;
mod serve_segment;
mod stats;
mod stats_wait;
mod top;
mod top_master;
mod util;
mod watch;
mod watch_connections;
