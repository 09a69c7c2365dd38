/* Placeholder while the benchmark is written. */
int main(void);
int
main(void)
{
    return 0;
}
