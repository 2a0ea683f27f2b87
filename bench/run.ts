// Runs every benchmark under bench/ in turn. Benchmarks arrive with the MIC and NMI issues.
console.log('pnpm bench: no benchmarks yet');
