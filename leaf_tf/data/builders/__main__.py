"""`python -m leaf_tf.data.builders NAME --manual_dir=...`: the same as `leaf-tf prepare` (leaf_tf/commands/prepare.py)."""

from leaf_tf.commands.prepare import main

if __name__ == "__main__":
    main()
