package codec_test

import (
	"fmt"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/codec"
	"github.com/sessionkit/sessionkit/core/memstore"
)

type cart struct {
	Items []string
	Total int
}

// Register lets the binary codec keep a struct type of the app's in a
// session (as JSON, under the given name). Strings, numbers, bools, times,
// []byte, []any and map[string]any need no registration.
func ExampleRegister() {
	c := codec.New()
	codec.Register[cart](c, "shop.cart")

	store := memstore.New()
	defer store.Close()
	m := core.NewManager(store, core.WithCodec(c))
	_ = m // handlers now Set("cart", cart{...}) and GetAs[cart]

	b, err := c.Encode(nil, cart{Items: []string{"tea"}, Total: 4})
	if err != nil {
		panic(err)
	}
	v, err := c.Decode(b)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%+v\n", v.(cart))
	_, err = c.Encode(nil, struct{ X int }{1})
	fmt.Println(err != nil)
	// Output:
	// {Items:[tea] Total:4}
	// true
}
