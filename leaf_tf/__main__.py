"""`python -m leaf_tf <command>`: the same as the `leaf-tf` command."""

from leaf_tf.commands import main

if __name__ == "__main__":
    main()
