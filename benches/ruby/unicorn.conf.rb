# unicorn for benches/serve.sh: 2 workers, like `raindrops serve --workers 2`.
worker_processes 2
preload_app true
