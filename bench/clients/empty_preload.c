/* A library that does nothing: bench/run preloads it to show what LD_PRELOAD of any library
   costs in resident memory, before anything socksify does. */
int sx_bench_empty_preload;
