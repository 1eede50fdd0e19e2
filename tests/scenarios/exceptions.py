def risky(value):
    if value < 0:
        raise ValueError("negative")
    return value


def handle(value):
    try:
        result = risky(value)
    except ValueError as error:
        result = str(error)
    except TypeError:
        result = "type"
    else:
        result = f"ok {result}"
    finally:
        done = True
    return result, done


print(handle(1))
print(handle(-1))
try:
    with open("/nonexistent/file") as f:
        f.read()
except OSError:
    print("no file")
