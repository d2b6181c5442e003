/** How big a run is: `--quick` scales every section down. */
export interface BenchMode {
  quick: boolean;
}
