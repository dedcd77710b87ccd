"""Tools around the product (sample data, mess, benchmark, docs): they use the library, the library never imports them."""
