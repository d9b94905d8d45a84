"""Reading datasets, decoding images, and the Parquet shard format."""
