// W2 prodcons, Go: producer -> make(chan int, 128) -> consumer; the producer closes.
package main

import (
	"flag"
	"fmt"
	"os"
	"time"
)

func producer(ch chan<- int, n int) {
	for i := 0; i < n; i++ {
		ch <- i
	}
	close(ch)
}

func main() {
	n := flag.Int("n", 500000, "items")
	reps := flag.Int("reps", 3, "repetitions; the best is reported")
	flag.Parse()
	best := time.Duration(1<<63 - 1)
	for r := 0; r < *reps; r++ {
		ch := make(chan int, 128)
		t0 := time.Now()
		go producer(ch, *n)
		total, count := 0, 0
		for v := range ch {
			total += v
			count++
		}
		dt := time.Since(t0)
		if count != *n || total != *n*(*n-1)/2 {
			fmt.Fprintf(os.Stderr, "W2 go: WRONG RESULT: got %d items summing to %d\n", count, total)
			os.Exit(1)
		}
		if dt < best {
			best = dt
		}
	}
	fmt.Printf("W2 go %d per_item=%.1f ns\n", *n, float64(best.Nanoseconds())/float64(*n))
}
