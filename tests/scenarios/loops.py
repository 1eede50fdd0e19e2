total = 0
for i in range(10):
    if i % 3 == 0:
        continue
    if i == 8:
        break
    total += i
else:
    total = -1

n = 5
while n > 0:
    n -= 1
    if n == 100:
        print("unreachable")

while True:
    total += 1
    if total > 30:
        break
print(total)
