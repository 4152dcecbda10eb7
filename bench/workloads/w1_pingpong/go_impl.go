// W1 pingpong, Go: two goroutines, two unbuffered channels (ping, pong).
package main

import (
	"flag"
	"fmt"
	"os"
	"time"
)

func ponger(ping <-chan int, pong chan<- int, n int) {
	for i := 0; i < n; i++ {
		v := <-ping
		pong <- v + 1
	}
}

func main() {
	n := flag.Int("n", 100000, "round trips")
	reps := flag.Int("reps", 3, "repetitions; the best is reported")
	flag.Parse()
	best := time.Duration(1<<63 - 1)
	for r := 0; r < *reps; r++ {
		ping, pong := make(chan int), make(chan int)
		t0 := time.Now()
		go ponger(ping, pong, *n)
		v := 0
		for i := 0; i < *n; i++ {
			ping <- v
			v = <-pong
		}
		dt := time.Since(t0)
		if v != *n {
			fmt.Fprintf(os.Stderr, "W1 go: WRONG RESULT: final value %d, want %d\n", v, *n)
			os.Exit(1)
		}
		if dt < best {
			best = dt
		}
	}
	fmt.Printf("W1 go %d per_round_trip=%.1f ns\n", *n, float64(best.Nanoseconds())/float64(*n))
}
