"""Layer stacks from TOML specs: spec, layer and neuron builds, run and training, optimizers, captions, report, plots."""
