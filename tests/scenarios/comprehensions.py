squares = [x * x for x in range(6)]
evens = {x for x in squares if x % 2 == 0}
lookup = {
    k: v
    for k, v in zip("abc", range(3))
}
lazy = (y + 1 for y in squares)
never = [z for z in [] if z]
print(squares, sorted(evens), lookup, sum(lazy), never)
