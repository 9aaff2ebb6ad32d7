"""Data: TFDS builders for the datasets TFDS lacks, audio folders, audio decoding."""
