<?php

namespace App\Text;

final class Slugger
{
    private array $replacements = ['&' => 'and', '@' => 'at', '%' => 'percent'];

    public function __construct(private string $separator = '-', private int $maxLength = 60)
    {
        if ($maxLength < 1) {
            throw new \InvalidArgumentException('maxLength must be positive');
        }
    }

    public function slug(string $title): string
    {
        $text = strtr(mb_strtolower(trim($title)), $this->replacements);
        $text = preg_replace('/[^a-z0-9]+/', $this->separator, $text) ?? '';
        $text = trim($text, $this->separator);
        if (strlen($text) > $this->maxLength) {
            $text = rtrim(substr($text, 0, $this->maxLength), $this->separator);
        }
        return $text === '' ? 'untitled' : $text;
    }

    public function unique(string $title, array $taken): string
    {
        $base = $this->slug($title);
        $candidate = $base;
        $suffix = 2;
        while (in_array($candidate, $taken, true)) {
            $candidate = $base . $this->separator . $suffix;
            $suffix++;
        }
        return $candidate;
    }
}
