// W7 blocking, Go: N=32 goroutines each make one blocking 50 ms syscall.Nanosleep
// (time.Sleep would not block a thread); wall time for all; join with a WaitGroup.
package main

import (
	"flag"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

const delay = 50 * time.Millisecond

func main() {
	n := flag.Int("n", 32, "goroutines")
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
				ts := syscall.NsecToTimespec(int64(delay))
				for {
					// Nanosleep leaves the remaining time in ts when interrupted.
					if err := syscall.Nanosleep(&ts, &ts); err != syscall.EINTR {
						if err != nil {
							panic(err)
						}
						break
					}
				}
				atomic.AddInt64(&count, 1)
				wg.Done()
			}()
		}
		wg.Wait()
		dt := time.Since(t0)
		if count != int64(*n) || dt < delay {
			fmt.Fprintf(os.Stderr, "W7 go: WRONG RESULT: %d calls finished in %v\n", count, dt)
			os.Exit(1)
		}
		if dt < best {
			best = dt
		}
	}
	fmt.Printf("W7 go %d total=%.1f ms\n", *n, float64(best.Nanoseconds())/1e6)
}
