package oscmap_test

import (
	"fmt"

	"github.com/oscgpio/oscgpio/oscmap"
)

func ExampleBool() {
	for _, arg := range []any{int32(1), float32(0), 0.5, true, "Off", "high", []byte{1}, "maybe"} {
		on, err := oscmap.Bool(arg)
		if err != nil {
			fmt.Println("error:", err)
			continue
		}
		fmt.Printf("%T %v -> %v\n", arg, arg, on)
	}
	// Output:
	// int32 1 -> true
	// float32 0 -> false
	// float64 0.5 -> true
	// bool true -> true
	// string Off -> false
	// string high -> true
	// error: cannot use a blob (b) as on/off
	// error: cannot use the string "maybe" (s) as on/off: send on/off, true/false, high/low or 1/0
}
