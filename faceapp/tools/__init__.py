"""Tools over the installed app: the self-test (`faceapp --self-test`) and the tagging throughput benchmark
(`python -m faceapp.tools.benchmark`)."""
