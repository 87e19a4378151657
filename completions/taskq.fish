complete --keep-order --exclusive --command taskq --arguments "(COMPLETE=fish taskq -- (commandline --current-process --tokenize --cut-at-cursor) (commandline --current-token))"
