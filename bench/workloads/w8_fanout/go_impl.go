// W8 fanout, Go: producer -> unbuffered chan -> 8 workers (square) -> unbuffered chan -> collector.
// The producer closes the input; workers range over it; the collector receives exactly N results.
package main

import (
	"flag"
	"fmt"
	"os"
	"time"
)

const workers = 8

func producer(in chan<- int, n int) {
	for i := 0; i < n; i++ {
		in <- i
	}
	close(in)
}

func worker(in <-chan int, out chan<- int) {
	for v := range in {
		out <- v * v
	}
}

func main() {
	n := flag.Int("n", 200000, "items")
	reps := flag.Int("reps", 3, "repetitions; the best is reported")
	flag.Parse()
	nn := int64(*n)
	want := (nn - 1) * nn * (2*nn - 1) / 6
	best := time.Duration(1<<63 - 1)
	for r := 0; r < *reps; r++ {
		in, out := make(chan int), make(chan int)
		t0 := time.Now()
		go producer(in, *n)
		for w := 0; w < workers; w++ {
			go worker(in, out)
		}
		var total int64
		for i := 0; i < *n; i++ {
			total += int64(<-out)
		}
		dt := time.Since(t0)
		if total != want {
			fmt.Fprintf(os.Stderr, "W8 go: WRONG RESULT: sum of squares %d, want %d\n", total, want)
			os.Exit(1)
		}
		if dt < best {
			best = dt
		}
	}
	fmt.Printf("W8 go %d per_item=%.1f ns\n", *n, float64(best.Nanoseconds())/float64(*n))
}
