// W3 spawn, Go: start N goroutines, each adds 1 to a shared counter (atomic); join with a sync.WaitGroup.
package main

import (
	"flag"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	n := flag.Int("n", 100000, "goroutines")
	reps := flag.Int("reps", 3, "repetitions; the best is reported")
	flag.Parse()
	best := time.Duration(1<<63 - 1)
	for r := 0; r < *reps; r++ {
		var count int64
		var wg sync.WaitGroup
		t0 := time.Now()
		wg.Add(*n)
		for i := 0; i < *n; i++ {
			go func() {
				atomic.AddInt64(&count, 1)
				wg.Done()
			}()
		}
		wg.Wait()
		dt := time.Since(t0)
		if count != int64(*n) {
			fmt.Fprintf(os.Stderr, "W3 go: WRONG RESULT: counter is %d, want %d\n", count, *n)
			os.Exit(1)
		}
		if dt < best {
			best = dt
		}
	}
	fmt.Printf("W3 go %d per_goroutine=%.1f ns\n", *n, float64(best.Nanoseconds())/float64(*n))
}
