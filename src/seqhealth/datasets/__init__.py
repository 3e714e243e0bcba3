"""Every custom Kedro dataset of the project (file I/O lives here; nodes are pure):
``sequence_files`` (FASTA/FASTQ/GenBank), ``physionet`` (2012 / long CSV, 2019), ``raw_input``
(predict), ``raw_partitions`` and ``optional`` (retrain), ``model_input`` (tune)."""
