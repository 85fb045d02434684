// promcheck checks Phoenix's metrics the way Prometheus would. Built by
// scripts/test-setup.d/promcheck.sh; used by the metrics tests.
//
//	promcheck lint < exposition.txt    promlint's problems, one per line; exit 1 if any
//	promcheck names < expressions.txt  the metric names each PromQL expression (one per line) selects
package main

import (
	"bufio"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	"github.com/prometheus/prometheus/promql/parser"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: promcheck lint|names < input")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "lint":
		os.Exit(lint())
	case "names":
		os.Exit(names())
	default:
		fmt.Fprintf(os.Stderr, "promcheck: unknown command %q\n", os.Args[1])
		os.Exit(2)
	}
}

func lint() int {
	problems, err := promlint.New(os.Stdin).Lint()
	if err != nil {
		fmt.Fprintf(os.Stderr, "promcheck: cannot parse the exposition: %v\n", err)
		return 2
	}
	for _, p := range problems {
		fmt.Printf("%s: %s\n", p.Metric, p.Text)
	}
	if len(problems) > 0 {
		return 1
	}
	return 0
}

func names() int {
	scanner := bufio.NewScanner(os.Stdin)
	scanner.Buffer(make([]byte, 1<<20), 1<<20)
	failed := 0
	for line := 1; scanner.Scan(); line++ {
		text := strings.TrimSpace(scanner.Text())
		if text == "" {
			continue
		}
		expr, err := parser.ParseExpr(text)
		if err != nil {
			fmt.Fprintf(os.Stderr, "line %d: %v\n", line, err)
			failed = 1
			continue
		}
		set := map[string]bool{}
		parser.Inspect(expr, func(node parser.Node, _ []parser.Node) error {
			if v, ok := node.(*parser.VectorSelector); ok && v.Name != "" {
				set[v.Name] = true
			}
			return nil
		})
		list := make([]string, 0, len(set))
		for name := range set {
			list = append(list, name)
		}
		sort.Strings(list)
		fmt.Println(strings.Join(list, " "))
	}
	return failed
}
